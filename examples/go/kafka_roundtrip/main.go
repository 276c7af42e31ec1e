// Command kafka_roundtrip reads a Kafka topic, upper-cases each value and writes another topic with the Beam Go
// SDK's own kafkaio transforms, expanded by the kafka-beam-ts service (no Java, no JVM expansion service).
//
// On one machine, with Prism (our worker is started through the environment `serve` offers):
//
//	kafka-beam-ts serve &
//	prism &
//	go run . --expansion_addr localhost:8097 --bootstrap localhost:9092 --input events --output events-upper \
//	    --max_records 1000 --runner universal --endpoint localhost:8073 --environment_type LOOPBACK
package main

import (
	"bytes"
	"context"
	"flag"
	"log"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/xlang/kafkaio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
)

var (
	expansionAddr = flag.String("expansion_addr", "localhost:8097", "host:port of `kafka-beam-ts serve` (its --expansion-port)")
	bootstrap     = flag.String("bootstrap", "", "Kafka bootstrap.servers (required)")
	input         = flag.String("input", "", "topic to read (required)")
	output        = flag.String("output", "", "topic to write (required)")
	maxRecords    = flag.Int64("max_records", 0, "stop after this many records (a bounded read); unbounded when 0")
)

func init() {
	register.Function2x2(upperCase)
}

// upperCase keeps the key and upper-cases the value.
func upperCase(key, value []byte) ([]byte, []byte) {
	return key, bytes.ToUpper(value)
}

func main() {
	flag.Parse()
	beam.Init()
	if *bootstrap == "" || *input == "" || *output == "" {
		log.Fatal("--bootstrap, --input and --output are required")
	}

	p, s := beam.NewPipelineWithRoot()
	earliest := kafkaio.ConsumerConfigs(map[string]string{"auto.offset.reset": "earliest"})
	var records beam.PCollection
	if *maxRecords > 0 { // kafkaio's option type is unexported: no slice of options to append to
		records = kafkaio.Read(s, *expansionAddr, *bootstrap, []string{*input}, earliest, kafkaio.MaxNumRecords(*maxRecords))
	} else {
		records = kafkaio.Read(s, *expansionAddr, *bootstrap, []string{*input}, earliest)
	}
	upper := beam.ParDo(s, upperCase, records)
	kafkaio.Write(s, *expansionAddr, *bootstrap, *output, upper)

	if err := beamx.Run(context.Background(), p); err != nil {
		log.Fatalf("pipeline failed: %v", err)
	}
}
