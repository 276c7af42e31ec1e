// One partition's side of our producer (./wire-producer.ts): the batch being filled, the batches not yet
// acknowledged, and the rule that keeps them in order with several in flight. Requests to one broker travel on one
// connection and the broker handles them in order, so batches sent in order are appended in order. When one fails,
// the ones sent after it fail too (an idempotent producer's broker refuses a sequence gap) or may have landed: the
// partition stops sending, waits for every answer, and sends again from its first unacknowledged batch, with the
// same bytes and sequence numbers, so the broker drops what it already has. This is Kafka's producer's own rule.
import type { BatchProducer, EncodedRecords } from "./record-batch-encoder.js";
import { NO_PRODUCER } from "./record-batch-encoder.js";
import type { ProducerRecord } from "./types.js";

const SEQUENCE_LIMIT = 2 ** 31;

/** The idempotent producer's id and epoch; `generation` counts the ids this producer has had. */
export interface ProducerIdentity {
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly generation: number;
  /** Its batches belong to transactions (a transactional.id's producer). */
  readonly transactional: boolean;
}

/** Records of one partition sent together, and the promise of their acknowledgement. */
export class Batch {
  /** The records, until they are encoded (then dropped: a sealed batch waiting to go holds only its bytes). */
  records: ProducerRecord[] = [];
  /** How many records it holds (the sequence numbers it takes). */
  count = 0;
  bytes = 0;
  readonly createdAt = Date.now();
  /** Producer id, epoch and first sequence, fixed when first sent (and again under a new producer id). */
  producer: BatchProducer = NO_PRODUCER;
  generation = -1;
  /** The encoded batch; a resend reuses it. */
  encoded: Buffer | undefined;
  /** Records given already encoded, to be compressed when first sent (uncompressed ones are `encoded` at once). */
  encodedRecords: EncodedRecords | undefined;
  /** The producer fields `encoded` carries (see stampRecordBatch); undefined: not stamped yet. */
  stampedFor: BatchProducer | undefined;
  inFlight = false;
  attempts = 0;
  readonly done: Promise<void>;
  private settle!: (err?: unknown) => void;

  constructor() {
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = (err) => (err === undefined ? resolve() : reject(err));
    });
    this.done.catch(() => undefined); // observed through produce(); never an unhandled rejection
  }

  add(record: ProducerRecord, bytes: number): void {
    this.records.push(record);
    this.count++;
    this.bytes += bytes;
  }

  resolve(): void {
    this.settle();
  }

  reject(err: unknown): void {
    this.settle(err ?? new Error("produce failed"));
  }
}

export class PartitionQueue {
  open: Batch | undefined;
  /** Sealed and not yet acknowledged, in send order; those in flight come first (except while rewinding). */
  readonly unacked: Batch[] = [];
  inFlight = 0;
  /** A batch failed: send nothing until every batch in flight has answered, then resend from the first. */
  rewinding = false;
  retryAt = 0;
  private nextSequence = 0;
  private generation = -1;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  /** Moves the open batch to the send queue; false if there was none. */
  seal(): boolean {
    if (!this.open) return false;
    this.unacked.push(this.open);
    this.open = undefined;
    return true;
  }

  /** The batch to send next, if one may go now with at most `limit` in flight. */
  next(now: number, limit: number): Batch | undefined {
    if (this.rewinding) {
      if (this.inFlight > 0) return undefined;
      this.rewinding = false;
    }
    if (this.retryAt > now || this.inFlight >= limit) return undefined;
    return this.unacked[this.inFlight];
  }

  /**
   * Marks `batch` (from next()) in flight. With an identity, a batch sent for the first time under it gets the
   * partition's next sequence numbers (a new producer id starts the partition at 0); a resend keeps its own.
   */
  take(batch: Batch, identity: ProducerIdentity | undefined): void {
    batch.inFlight = true;
    this.inFlight++;
    if (!identity || batch.generation === identity.generation) return;
    if (this.generation !== identity.generation) {
      this.generation = identity.generation;
      this.nextSequence = 0;
    }
    batch.generation = identity.generation;
    batch.producer = {
      producerId: identity.producerId,
      producerEpoch: identity.producerEpoch,
      baseSequence: this.nextSequence,
      transactional: identity.transactional,
    };
    this.nextSequence = (this.nextSequence + batch.count) % SEQUENCE_LIMIT;
  }

  acknowledged(batch: Batch): void {
    this.landed(batch);
    batch.resolve();
  }

  /** The batch goes again, from the first unacknowledged one, not before `retryAt`. */
  retry(batch: Batch, retryAt: number): void {
    if (batch.inFlight) {
      batch.inFlight = false;
      this.inFlight--;
    }
    batch.attempts++;
    this.rewinding = true;
    this.retryAt = Math.max(this.retryAt, retryAt);
  }

  /** The batch fails for good; the batches sent after it are resent once they have answered. */
  fail(batch: Batch, err: unknown): void {
    this.landed(batch);
    this.rewinding = true;
    batch.reject(err);
  }

  /** Every batch not in flight (sealed or open) fails: the producer cannot send at all. */
  failWaiting(err: unknown): void {
    for (const batch of this.unacked.filter((b) => !b.inFlight)) this.fail(batch, err);
    if (this.open) {
      this.open.reject(err);
      this.open = undefined;
    }
  }

  private landed(batch: Batch): void {
    if (batch.inFlight) {
      batch.inFlight = false;
      this.inFlight--;
    }
    const at = this.unacked.indexOf(batch);
    if (at >= 0) this.unacked.splice(at, 1);
  }
}
