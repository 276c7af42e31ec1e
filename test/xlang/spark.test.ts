// On Spark (Beam's Spark runner 2.56.0 job server, Spark 3.5 local[2]): Beam Python's WriteToKafka creates its
// topic on a broker no consumer group has used, ReadFromKafka(max_num_records) reads it back, both expanded by our
// service and executed by our worker.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { withAdmin, uniqueTopic } from "../infra/fixtures.js";
import { lastJsonLine, runKafkaPipeline, type PythonResult } from "../infra/python.js";
import { useEngineStack } from "../infra/xlang-stack.js";

const s = suite("xlang on Spark (Beam 2.56 job server, local[2])", { timeoutMs: 300_000 });
const stack = useEngineStack(s, "spark", { "num.partitions": "4" });
const RECORDS = 10_000;

function python(mode: string, topic: string): Promise<PythonResult> {
  return runKafkaPipeline(
    mode,
    {
      expansion: stack.service("process").expansionAddress,
      jobEndpoint: stack.jobServer.jobEndpoint,
      bootstrap: stack.bootstrap,
    },
    ["--topic", topic, "--count", String(RECORDS)],
    240_000,
  );
}

function parsed<T>(result: PythonResult): T {
  try {
    return lastJsonLine<T>(result);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${stack.logs()}`);
  }
}

s.test(
  "batch: Python WriteToKafka creates its topic, ReadFromKafka(max_num_records) reads back 10,000 records exactly",
  async () => {
    const topic = uniqueTopic("spark-batch");
    assert.is(parsed<{ written: number }>(await python("write", topic)).written, RECORDS);
    const partitions = await withAdmin(stack.bootstrap, (admin) => admin.fetchTopicOffsets(topic));
    assert.equal(
      partitions.map((p) => p.partition).sort(),
      [0, 1, 2, 3],
      "created by the write, with the broker's default partitions",
    );
    const out = parsed<{ records: [string, string][] }>(await python("read", topic));
    assert.equal(
      out.records.map(([k, v]) => `${k}=${v}`).sort(),
      Array.from({ length: RECORDS }, (_, i) => `key-${i % 7}=value-${i}`).sort(),
    );
  },
);

s.run();
