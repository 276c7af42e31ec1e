// expansion-load: a closed-loop gRPC load generator for an ExpansionService, in Go so that on a small machine the
// load generator costs far less CPU per call than the service it measures. It sends the request encoded in
// --request (a serialized ExpansionRequest) with a fresh namespace per call, keeps --concurrency calls in flight
// until --requests are done, and prints one JSON line per round: latency quantiles in ms and the request rate.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	expansion "github.com/apache/beam/sdks/v2/go/pkg/beam/model/jobmanagement_v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
)

func main() {
	address := flag.String("address", "127.0.0.1:8097", "expansion service host:port")
	requestFile := flag.String("request", "", "file holding one serialized ExpansionRequest")
	total := flag.Int("requests", 5000, "calls to measure (after the warm-up)")
	warmup := flag.Int("warmup", 5000, "calls before measuring")
	rounds := flag.Int("rounds", 3, "measured rounds of --requests calls")
	concurrency := flag.Int("concurrency", 50, "calls in flight")
	connections := flag.Int("connections", 1, "gRPC connections the callers share round-robin")
	flag.Parse()

	encoded, err := os.ReadFile(*requestFile)
	check(err)
	template := &expansion.ExpansionRequest{}
	check(proto.Unmarshal(encoded, template))

	clients := make([]expansion.ExpansionServiceClient, *connections)
	for i := range clients {
		conn, err := grpc.NewClient(*address, grpc.WithTransportCredentials(insecure.NewCredentials()))
		check(err)
		defer conn.Close()
		clients[i] = expansion.NewExpansionServiceClient(conn)
	}
	expand := func(i int) time.Duration {
		request := proto.Clone(template).(*expansion.ExpansionRequest)
		request.Namespace = fmt.Sprintf("external_%d", i)
		started := time.Now()
		response, err := clients[i%len(clients)].Expand(context.Background(), request)
		check(err)
		if response.GetError() != "" || response.GetTransform() == nil {
			check(fmt.Errorf("call %d: no expansion: %q", i, response.GetError()))
		}
		return time.Since(started)
	}

	// The warm-up runs at full concurrency, long enough for V8 to optimize the service's hot paths: a long-running
	// service's steady state is what the rounds measure (the first call's latency is reported on its own).
	first := expand(0)
	run(expand, *warmup, *concurrency, 1)
	for round := 1; round <= *rounds; round++ {
		latencies, elapsed := run(expand, *total, *concurrency, 1+*warmup+(round-1)*(*total))
		sort.Slice(latencies, func(a, b int) bool { return latencies[a] < latencies[b] })
		quantile := func(q float64) float64 { return ms(latencies[min(len(latencies)-1, int(q*float64(len(latencies))))]) }
		check(json.NewEncoder(os.Stdout).Encode(map[string]any{
			"round": round, "requests": *total, "concurrency": *concurrency, "connections": *connections, "firstCall": ms(first),
			"p50": quantile(0.5), "p90": quantile(0.9), "p99": quantile(0.99), "max": ms(latencies[len(latencies)-1]),
			"rps": float64(*total) / elapsed.Seconds(),
		}))
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// run makes `total` calls with `concurrency` in flight, numbering them from `from`; it returns each call's latency.
func run(expand func(int) time.Duration, total, concurrency, from int) ([]time.Duration, time.Duration) {
	latencies := make([]time.Duration, total)
	var next atomic.Int64
	var group sync.WaitGroup
	started := time.Now()
	for c := 0; c < concurrency; c++ {
		group.Add(1)
		go func() {
			defer group.Done()
			for i := int(next.Add(1) - 1); i < total; i = int(next.Add(1) - 1) {
				latencies[i] = expand(from + i)
			}
		}()
	}
	group.Wait()
	return latencies, time.Since(started)
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "expansion-load:", err)
		os.Exit(1)
	}
}
