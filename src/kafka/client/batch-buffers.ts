// Buffers for encoded record batches, used again once the broker has acknowledged them. Every batch of an
// uncompressed write is about batch.size bytes, and each new one was an ArrayBuffer of its own: a 1 GB write
// allocated a thousand 1 MiB buffers, and V8, seeing that much memory outside its heap, ran a full mark-compact every
// few dozen megabytes (40 in a 1M x 1 KB write, 1 with this). A batch's buffer may come back only when no socket can
// still be writing it: after the broker answered the one request that carried it (see WireProducer.send).

import { RECORDS_OFFSET } from "./record-batch-layout.js";

/** Free buffers kept, in bytes, for the whole process (producers of one batch.size share them). */
const MAX_FREE_BYTES = 16 * 1024 * 1024;

const freeBySize = new Map<number, ArrayBuffer[]>();
let freeBytes = 0;

export class BatchBuffers {
  /** `capacity`: the size of every pooled buffer; a batch needing more gets one of its own. */
  constructor(readonly capacity: number) {}

  /**
   * A buffer of `size` bytes (contents undefined). Only a batch of more than half the capacity (a full one, as a
   * steady write makes them) takes a pooled buffer: a small one (a transaction's many small produce calls, a slow
   * trickle) would hold a whole capacity's memory for a few kilobytes.
   */
  take(size: number): Buffer {
    if (size > this.capacity || size <= this.capacity / 2) return Buffer.allocUnsafe(size);
    const reused = freeBySize.get(this.capacity)?.pop();
    if (reused) freeBytes -= reused.byteLength;
    return Buffer.from(reused ?? new ArrayBuffer(this.capacity), 0, size);
  }

  /** Gives back a buffer from take(); it must not be used afterwards. Others are left to the garbage collector. */
  give(buffer: Buffer): void {
    const whole = buffer.buffer;
    if (whole.byteLength !== this.capacity || buffer.byteOffset !== 0 || !(whole instanceof ArrayBuffer)) return;
    if (freeBytes + whole.byteLength > MAX_FREE_BYTES) return;
    let free = freeBySize.get(this.capacity);
    if (!free) freeBySize.set(this.capacity, (free = []));
    free.push(whole);
    freeBytes += whole.byteLength;
  }
}

/** What one batch of a producer holds at most: batch.size, or max.request.size where that is smaller. */
export function batchSendLimit(options: { readonly batchSize: number; readonly maxRequestSize: number }): number {
  return Math.min(options.batchSize, options.maxRequestSize);
}

/**
 * The batch buffers of a producer with this send limit (pooled per size, process-wide, so others writing batches
 * for it share them): the header, the limit, and a margin (a batch's records are sized by estimate).
 */
export function batchBuffersFor(sendLimit: number): BatchBuffers {
  return new BatchBuffers(RECORDS_OFFSET + sendLimit + Math.ceil(sendLimit / 16));
}
