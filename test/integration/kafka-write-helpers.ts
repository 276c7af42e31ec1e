// Helpers of the kafka-write integration suites: read back a whole topic with the group-less fetch client
// (read_committed or not), run a pipeline on the local runner, and wrap the real producer to inject faults.
import {
  createKafkaClient,
  type KafkaClient,
  type KafkaProducer,
  type KafkaRecord,
  type KafkaTransaction,
  type EncodedRecords,
  type ProducerRecord,
} from "../../src/kafka/client/index.js";
import { parseConsumerConfig, type IsolationLevel } from "../../src/kafka/config/index.js";
import type { Pipeline, PipelineMetrics } from "../../src/pipeline/index.js";
import { LocalRunner, type LocalRunnerOptions } from "../../src/runners/local/index.js";

export interface ReadRecord extends KafkaRecord {
  readonly partition: number;
}

const quiet = (): void => undefined;

export function readClient(bootstrap: string): KafkaClient {
  return createKafkaClient(
    parseConsumerConfig({ "bootstrap.servers": bootstrap, "default.api.timeout.ms": "20000" }, { logger: quiet }),
    { logger: quiet },
  );
}

/**
 * Every record of every partition of `topic` up to its end. For read_committed the end is the high watermark once
 * no transaction is open on the partition: commit markers land shortly after a commit returns, so until then the
 * last stable offset trails (the caller knows every transaction it started has ended).
 */
export async function readTopic(
  client: KafkaClient,
  topic: string,
  isolationLevel: IsolationLevel = "read_committed",
  settleMs = 20_000,
): Promise<ReadRecord[]> {
  const [described] = await client.partitionsFor([topic]);
  const out: ReadRecord[] = [];
  const deadline = Date.now() + settleMs;
  for (const partition of described!.partitions) {
    let offset = 0n;
    for (;;) {
      const result = await client.fetch(topic, partition, offset, { maxWaitMs: 50, maxBytes: 8 << 20, isolationLevel });
      for (const r of result.records) out.push({ ...r, partition });
      offset = result.nextOffset;
      if (offset >= result.highWatermark) break;
      if (isolationLevel === "read_committed" && offset >= result.lastStableOffset) {
        if (Date.now() > deadline)
          throw new Error(
            `${topic}-${partition}: a transaction stays open (LSO ${result.lastStableOffset} < HW ${result.highWatermark})`,
          );
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
  return out;
}

/** Runs the pipeline to the end on the local runner; resolves with its metrics, rejects with the pipeline's error. */
export async function runLocal(
  pipeline: Pipeline,
  options: LocalRunnerOptions = {},
  timeoutMs = 45_000,
): Promise<PipelineMetrics> {
  const handle = pipeline.run(new LocalRunner(options));
  const state = await handle.waitUntilFinish(timeoutMs);
  if (state !== "DONE") {
    await handle.cancel();
    throw new Error(`pipeline ended ${state}`);
  }
  return handle.metrics();
}

/** Every user counter whose name matches, summed over the steps. */
export function userCounters(metrics: PipelineMetrics, name: RegExp): Record<string, number> {
  const out: Record<string, number> = {};
  for (const step of Object.values(metrics.steps)) {
    for (const [counterName, value] of Object.entries(step.counters))
      if (name.test(counterName)) out[counterName] = (out[counterName] ?? 0) + value;
  }
  return out;
}

/** Sum of a user counter over every step. */
export function counter(metrics: PipelineMetrics, name: string): number {
  return Object.values(metrics.steps).reduce((sum, step) => sum + (step.counters[name] ?? 0), 0);
}

export class InjectedFault extends Error {
  override readonly name = "InjectedFault";
}

/** Where a wrapped transactional producer fails. "kill" closes the real producer mid-transaction, like a crash. */
export type FaultPoint = "after-produce" | "kill-after-produce" | "after-commit";

/**
 * The real producer, with a fault at `point` in the first transaction whose transactional id `when` selects.
 * Everything else passes through to Kafka unchanged.
 */
export function faultyProducer(
  real: KafkaProducer,
  point: FaultPoint,
  armed: { fired: boolean; when: (transactionalId: string) => boolean },
): KafkaProducer {
  const id = real.options.transactionalId ?? "";
  const fire = (): boolean => {
    if (armed.fired || !armed.when(id)) return false;
    armed.fired = true;
    return true;
  };
  // After a kill this producer is gone: it cannot abort or do anything else, as a crashed worker cannot.
  let killed = false;
  const alive = (): void => {
    if (killed) throw new InjectedFault(`${id}: the producer was killed`);
  };
  return {
    options: real.options,
    produce: (records) => real.produce(records),
    flush: () => real.flush(),
    partitionsFor: (topic) => real.partitionsFor(topic),
    close: async () => {
      if (!killed) await real.close();
    },
    async beginTransaction(): Promise<KafkaTransaction> {
      alive();
      const txn = await real.beginTransaction();
      const afterSend = async (): Promise<void> => {
        if (point === "after-produce" && fire()) throw new InjectedFault(`${id}: failed after the send`);
        if (point === "kill-after-produce" && fire()) {
          killed = true;
          await real.close(); // the connection goes away with the transaction open, as when a worker dies
          throw new InjectedFault(`${id}: producer killed mid-transaction`);
        }
      };
      return {
        async produce(records: readonly ProducerRecord[]): Promise<void> {
          await txn.produce(records);
          await afterSend();
        },
        // The sink's own path (records already in Kafka's format), with the same faults.
        async produceEncoded(topic: string, partition: number, records: EncodedRecords): Promise<void> {
          await txn.produceEncoded!(topic, partition, records);
          await afterSend();
        },
        partitionCount: (topic: string) => txn.partitionCount!(topic),
        sendOffsets: async (groupId, offsets) => {
          alive();
          await txn.sendOffsets(groupId, offsets);
        },
        async commit(): Promise<void> {
          alive();
          await txn.commit();
          if (point === "after-commit" && fire()) throw new InjectedFault(`${id}: failed after the commit`);
        },
        abort: async () => {
          alive();
          await txn.abort();
        },
      };
    },
  };
}
