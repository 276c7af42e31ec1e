// A shard's committed state, kept in Kafka itself: the sink group's committed offset for partition <shard> of the
// metadata topic, written by TxnOffsetCommit inside the same transaction as the shard's records (as Beam Java's
// exactly-once sink does). So the records of a batch and the note that the batch is done commit or abort together.
//
//   offset   = the shard's sequence number: how many batches it has committed
//   metadata = {"v":1,"seq":"<n>","recent":[[batchId, digest, seq], ...],"w":"<writer>"}
//
// A retried batch (same GroupByKey firing, same id) finds its id in `recent` and is skipped; a batch id that is
// there with a different digest means the runner re-formed the batch with other records (unstable input, or
// another job reusing the sink group) and fails loudly instead of guessing.
import { KafkaWriteError } from "./errors.js";
import { sameBatchDigest } from "./shard-record.js";

export interface CommittedBatch {
  readonly id: string;
  readonly digest: string;
  readonly seq: bigint;
}

export interface ShardState {
  /** Batches committed by this shard so far. */
  readonly seq: bigint;
  /** The latest committed batches, oldest first. */
  readonly recent: readonly CommittedBatch[];
}

export const INITIAL_SHARD_STATE: ShardState = Object.freeze({
  seq: 0n,
  recent: Object.freeze([]) as readonly CommittedBatch[],
});

/** Batches remembered per shard; a retry older than this many later batches would not be recognised. */
export const RECENT_BATCHES = 40;
/** Below Kafka's default offset.metadata.max.bytes (4096), leaving room for the writer note. */
export const MAX_METADATA_BYTES = 3500;

export type BatchDecision =
  | { readonly kind: "write"; readonly seq: bigint; readonly next: ShardState }
  | { readonly kind: "skip"; readonly committed: CommittedBatch }
  | { readonly kind: "conflict"; readonly committed: CommittedBatch };

/** What to do with batch `id` (records fingerprinted as `digest`) given the shard's committed state. */
export function decideBatch(state: ShardState, id: string, digest: string): BatchDecision {
  for (let i = state.recent.length - 1; i >= 0; i--) {
    const committed = state.recent[i]!;
    if (committed.id !== id) continue;
    return sameBatchDigest(committed.digest, digest) ? { kind: "skip", committed } : { kind: "conflict", committed };
  }
  const seq = state.seq + 1n;
  const recent = [...state.recent, { id, digest, seq }];
  return { kind: "write", seq, next: { seq, recent: recent.slice(Math.max(0, recent.length - RECENT_BATCHES)) } };
}

/** The offset metadata text of a state; drops the oldest remembered batches to stay under the size limit. */
export function formatShardMetadata(state: ShardState, writer: string): string {
  let recent = state.recent;
  for (;;) {
    const text = JSON.stringify({
      v: 1,
      seq: state.seq.toString(),
      recent: recent.map((b) => [b.id, b.digest, b.seq.toString()]),
      w: writer,
    });
    if (Buffer.byteLength(text) <= MAX_METADATA_BYTES || recent.length <= 1) return text;
    recent = recent.slice(1);
  }
}

function notOurs(where: string, why: string): KafkaWriteError {
  return new KafkaWriteError(
    "KAFKA_WRITE_EXACTLY_ONCE",
    `${where} holds a committed offset this sink did not write (${why}): use a sink group id of its own`,
  );
}

/**
 * The state from a committed offset (null: nothing committed yet). `where` names group, topic and partition for
 * errors. Throws KafkaWriteError if the offset was not written by this sink or does not match its metadata.
 */
export function parseShardState(
  committed: { offset: bigint | null; metadata: string | null } | null,
  where: string,
): ShardState {
  if (committed === null || committed.offset === null) return INITIAL_SHARD_STATE;
  let parsed: unknown;
  try {
    parsed = JSON.parse(committed.metadata ?? "");
  } catch {
    throw notOurs(where, "its metadata is not JSON");
  }
  const m = parsed as { v?: unknown; seq?: unknown; recent?: unknown };
  if (m === null || typeof m !== "object" || m.v !== 1 || typeof m.seq !== "string" || !Array.isArray(m.recent)) {
    throw notOurs(where, "unknown metadata format");
  }
  let seq: bigint;
  try {
    seq = BigInt(m.seq);
  } catch {
    throw notOurs(where, `sequence ${JSON.stringify(m.seq)} is not a number`);
  }
  if (seq !== committed.offset)
    throw notOurs(where, `offset ${committed.offset} differs from the sequence ${seq} in its metadata`);
  const recent = m.recent.map((entry: unknown): CommittedBatch => {
    if (!Array.isArray(entry) || entry.length !== 3 || !entry.every((x) => typeof x === "string")) {
      throw notOurs(where, "malformed batch entry");
    }
    return { id: entry[0] as string, digest: entry[1] as string, seq: BigInt(entry[2] as string) };
  });
  return { seq, recent };
}
