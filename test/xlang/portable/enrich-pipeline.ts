// The pipeline the portable-runner tests submit: Kafka → enrich each record (a Map: the pipeline's own code, shipped
// to the workers by module) → Kafka. Built by an exported function from JSON args, as users write one for a
// portable runner: the workers import this module and build it again.
import { Map as MapElements, type Pipeline } from "../../../src/pipeline/index.js";
import { readFromKafka, writeToKafka, type KafkaKV } from "../../../src/kafka/index.js";

export interface EnrichArgs {
  readonly bootstrap: string;
  readonly input: string;
  readonly output: string;
  /** A bounded read of this many records; unbounded when absent. */
  readonly maxRecords?: number;
  /** Commit offsets of finalized bundles to this group. */
  readonly group?: string;
  /** Write through Kafka transactions in this many shards (sink group `${output}-sink`). */
  readonly exactlyOnceShards?: number;
  /** The exactly-once write's requiresStableInput (default true; Prism refuses it). */
  readonly requiresStableInput?: boolean;
  /** The Map throws on this value (a worker error the runner reports). */
  readonly failOn?: string;
  /** Redistribute the read's records over this many keys. */
  readonly redistributeKeys?: number;
}

/** What the Map does to each value: enough work to be sure it ran where the test expects. */
export function enrich(value: string): string {
  return `${value.toUpperCase()}|${value.length}`;
}

export function build(pipeline: Pipeline, args: unknown): void {
  const a = args as EnrichArgs;
  pipeline
    .apply(
      readFromKafka<string, string>({
        consumerConfig: {
          "bootstrap.servers": a.bootstrap,
          "auto.offset.reset": "earliest",
          ...(a.group ? { "group.id": a.group } : {}),
        },
        topics: [a.input],
        keyDeserializer: "string",
        valueDeserializer: "string",
        ...(a.maxRecords !== undefined ? { maxNumRecords: a.maxRecords } : {}),
        ...(a.group ? { commitOffsetsInFinalize: true } : {}),
        ...(a.redistributeKeys !== undefined ? { redistribute: { numKeys: a.redistributeKeys } } : {}),
      }),
    )
    .apply(
      "Enrich",
      MapElements((r: KafkaKV<string, string>) => {
        if (r.value === a.failOn) throw new Error(`enrich refuses ${a.failOn}`);
        return { key: r.key, value: enrich(r.value ?? "") };
      }),
    )
    .apply(
      writeToKafka({
        producerConfig: {
          "bootstrap.servers": a.bootstrap,
          ...(a.exactlyOnceShards ? { "transactional.id": `${a.output}-tx` } : {}),
        },
        topic: a.output,
        keySerializer: "string",
        valueSerializer: "string",
        ...(a.exactlyOnceShards
          ? {
              exactlyOnce: {
                numShards: a.exactlyOnceShards,
                sinkGroupId: `${a.output}-sink`,
                ...(a.requiresStableInput !== undefined ? { requiresStableInput: a.requiresStableInput } : {}),
              },
            }
          : {}),
      }),
    );
}
