// WriteToKafka as a DoFn: records are batched and sent while the bundle runs (a bounded number of sends in
// flight), and finishBundle resolves only when Kafka acknowledged every record of the bundle — so a bundle is
// committed only after its records are durable, and any send failure fails the bundle with the Kafka error.
import type { DoFn, ProcessContext } from "../../sdf/index.js";
import type { DoFnPayload } from "../../model/dofn-payload.js";
import { parseProducerConfig, type ProducerOptions } from "../config/index.js";
import { acquireProducer, type ClientLease, type KafkaProducer, type ProducerRecord } from "../client/index.js";
import { toProducerRecord, type WriteFunctions, type WriteInput } from "./records.js";
import type { WriteSpec } from "./spec.js";

const RECORDS_PER_SEND = 5_000;
const SENDS_IN_FLIGHT = 4;

export class WriteToKafkaDoFn<T = unknown> implements DoFn<T, never> {
  private readonly options: ProducerOptions;
  private lease: ClientLease<KafkaProducer> | undefined;
  private batch: ProducerRecord[] = [];
  private inFlight: Promise<void>[] = [];
  private failure: unknown;

  constructor(readonly spec: WriteSpec, readonly input: WriteInput = "kv", private readonly fns: WriteFunctions<T> = {}) {
    this.options = parseProducerConfig(spec.producerConfig, { logger: () => undefined });
  }

  doFnPayload(): DoFnPayload {
    return { fn: "kafka_write", write: this.spec, input: this.input };
  }

  setup(): void {
    this.lease = acquireProducer(this.options);
  }

  teardown(): void {
    this.lease?.release();
    this.lease = undefined;
  }

  startBundle(): void {
    this.batch = [];
    this.inFlight = [];
    this.failure = undefined;
  }

  async process(element: T, context: ProcessContext<never>): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    this.batch.push(toProducerRecord(this.spec, this.input, element, context.timestamp, this.fns as WriteFunctions<unknown>));
    if (this.batch.length >= RECORDS_PER_SEND) await this.send();
  }

  private async send(): Promise<void> {
    if (!this.lease) this.setup();
    const records = this.batch;
    this.batch = [];
    const sent = this.lease!.client.produce(records);
    sent.catch((err: unknown) => { this.failure ??= err; });
    this.inFlight.push(sent);
    if (this.inFlight.length >= SENDS_IN_FLIGHT) await this.inFlight.shift();
  }

  async finishBundle(): Promise<void> {
    if (this.batch.length > 0) await this.send();
    const pending = this.inFlight;
    this.inFlight = [];
    await Promise.all(pending);
    if (this.failure !== undefined) throw this.failure;
  }
}
