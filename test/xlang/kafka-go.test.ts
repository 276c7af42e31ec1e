// Beam Go SDK's own kafkaio (examples/go/kafka_roundtrip, built by scripts/setup-xlang.sh) on Prism: Read and
// Write are expanded by our service from the PascalCase payloads Go sends, executed by our worker; the Go DoFn in
// between runs in the Go SDK's loopback worker. Exact output, against the real broker.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { consumeTopic, createTopic, testKafka, uniqueTopic } from "../infra/fixtures.js";
import { runGoExample } from "../infra/go.js";
import { useXlangStack } from "../infra/xlang-stack.js";

const s = suite("xlang: Beam Go kafkaio on Prism", { timeoutMs: 240_000 });
const RECORDS = 3000;
const stack = useXlangStack(s);

s.test(
  "Go kafkaio.Read (MaxNumRecords) → Go ParDo → kafkaio.Write: every record once, upper-cased, keys kept",
  async () => {
    const { bootstrap, prism, service } = stack;
    const input = uniqueTopic("go-in");
    const output = uniqueTopic("go-out");
    await createTopic(bootstrap, input, 3);
    const producer = testKafka(bootstrap).producer();
    await producer.connect();
    const messages = Array.from({ length: RECORDS }, (_, i) => ({
      key: `key-${i}`,
      value: `value-${i}`,
      partition: i % 3,
    }));
    await producer.send({ topic: input, acks: -1, messages });
    await producer.disconnect();

    const run = await runGoExample(
      [
        "--expansion_addr",
        service.expansionAddress,
        "--bootstrap",
        bootstrap,
        "--input",
        input,
        "--output",
        output,
        "--max_records",
        String(RECORDS),
        "--runner",
        "universal",
        "--endpoint",
        prism.jobEndpoint,
        "--environment_type",
        "LOOPBACK",
      ],
      200_000,
    );
    assert.is(run.code, 0, `go pipeline failed:\n${run.output.slice(-5000)}\n${stack.logs()}`);

    const written = await consumeTopic(bootstrap, output, RECORDS);
    assert.is(written.length, RECORDS);
    const seen = new Map<string | null, (string | null)[]>();
    for (const r of written) seen.set(r.key, [...(seen.get(r.key) ?? []), r.value]);
    for (let i = 0; i < RECORDS; i++) assert.equal(seen.get(`key-${i}`), [`VALUE-${i}`], `key-${i}`);
  },
);

s.run();
