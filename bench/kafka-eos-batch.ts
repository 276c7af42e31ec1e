// One exactly-once shard batch as a portable runner hands it over: a bounded input's shard grouped whole by the
// runner's GroupByKey, i.e. all its chunks in one KV<shard, iterable<bytes>>, through KafkaTransactionalWriteDoFn
// (one transaction). Prints the rate and the peak heap + external memory beyond the chunks themselves.
// Usage: npx tsc -p . && node --expose-gc dist/bench/kafka-eos-batch.js [--records N] [--size B]
// Uses KBT_BOOTSTRAP if set, else starts a throwaway broker (test/infra/broker.ts).
import { randomBytes } from "node:crypto";
import { brokerBootstrap, createTopic, releaseBroker } from "../test/infra/fixtures.js";
import { closeAllClients } from "../src/kafka/client/index.js";
import {
  defaultShardWriterPool,
  KafkaTransactionalWriteDoFn,
  writeEnvironment,
  writeSpecFromOptions,
} from "../src/kafka/write/index.js";
import { ShardChunkWriter, ShardRecordEncoder } from "../src/kafka/write/shard-record.js";
import { GLOBAL_WINDOW, NO_FIRING_PANE } from "../src/model/windowing.js";
import type { FinishBundleContext, ProcessContext } from "../src/sdf/index.js";
import { fmt, mib, numberFlag } from "./common.js";

const RECORDS = numberFlag("records", 1_000_000);
const SIZE = numberFlag("size", 100);
/** As the shard step's chunks (dofns.ts MAX_CHUNK_BYTES). */
const CHUNK_BYTES = 256 * 1024;

/** The shard's chunks, as the shard step would have emitted them for `records` keyless records. */
function shardChunks(topic: string): Uint8Array[] {
  const values = Array.from({ length: 1024 }, () => randomBytes(SIZE));
  const encoder = new ShardRecordEncoder();
  const writer = new ShardChunkWriter();
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < RECORDS; i++) {
    encoder.encode({ topic, key: null, value: values[i & 1023]! }, 1);
    writer.append(encoder);
    if (writer.byteLength >= CHUNK_BYTES) chunks.push(writer.finish());
  }
  chunks.push(writer.finish());
  return chunks;
}

async function main(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with node --expose-gc");
  const bootstrap = await brokerBootstrap();
  try {
    const topic = `bench-eos-batch-${Date.now().toString(36)}`;
    await createTopic(bootstrap, topic, 4);
    const chunks = shardChunks(topic);
    const spec = writeSpecFromOptions({
      producerConfig: { "bootstrap.servers": bootstrap, "transaction.timeout.ms": "120000" },
      topic,
      exactlyOnce: { numShards: 1, sinkGroupId: `sink-${topic}` },
    });
    const fn = new KafkaTransactionalWriteDoFn(spec, writeEnvironment({ logger: () => undefined }));
    gc();
    const base = process.memoryUsage();
    let peak = 0;
    const sampler = setInterval(() => {
      const now = process.memoryUsage();
      peak = Math.max(peak, now.heapUsed + now.external - base.heapUsed - base.external);
    }, 5);
    const started = performance.now();
    fn.startBundle();
    fn.process({ key: 0n, value: chunks }, {
      window: GLOBAL_WINDOW,
      pane: NO_FIRING_PANE,
      timestamp: 0n,
    } as unknown as ProcessContext<never>);
    await fn.finishBundle({
      metrics: { counter: () => ({ inc: () => undefined }) },
    } as unknown as FinishBundleContext<never>);
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    fn.teardown();
    const chunkBytes = chunks.reduce((sum, c) => sum + c.length, 0);
    console.log(
      `${fmt(RECORDS)} x ${SIZE} B in one shard batch (${chunks.length} chunks, ${mib(chunkBytes)}): ` +
        `${fmt(RECORDS / seconds)} rec/s, peak heap + external beyond the chunks ${mib(peak)}`,
    );
  } finally {
    await defaultShardWriterPool.closeAll();
    await closeAllClients();
    await releaseBroker();
  }
}

await main();
