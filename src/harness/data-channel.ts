// The Fn API data plane: one BeamFnData stream per endpoint, multiplexed over bundles (instruction id) and
// transforms. Inbound bytes are queued per (instruction, transform) and read as async iterables of decoded elements;
// the stream is paused while too many bytes wait unread, so memory stays bounded. Outbound elements are encoded into
// a buffer per (instruction, transform) and flushed by size, by time, and at the end of the bundle.
import type * as grpc from "@grpc/grpc-js";
import type { fnApi } from "../model/proto/index.js";
import { ByteReader, ByteWriter, type Coder } from "../model/coders/index.js";
import { beamClient, workerMetadata, type GenericClient } from "./grpc.js";

export interface DataChannelOptions {
  /** Pause the inbound stream above this many unread bytes (default 64 MiB). */
  readonly maxBufferedBytes?: number;
  /** Flush an outbound buffer at this size (default 1 MiB). */
  readonly flushBytes?: number;
  /** And at least this often while elements wait (default 200 ms). */
  readonly flushIntervalMs?: number;
}

export interface BundleOutput<T> {
  send(element: T): Promise<void> | undefined;
  close(): Promise<void>;
  discard(): void;
}

class Inbox {
  private readonly chunks: Uint8Array[] = [];
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  constructor(private readonly onConsumed: (bytes: number) => void) {}

  push(bytes: Uint8Array, isLast: boolean): void {
    if (bytes.length > 0) this.chunks.push(bytes);
    if (isLast) this.ended = true;
    this.wake?.();
  }

  /** Forgets unread chunks; returns their size. */
  drop(): number {
    const bytes = this.chunks.reduce((n, c) => n + c.length, 0);
    this.chunks.length = 0;
    this.ended = true;
    this.wake?.();
    return bytes;
  }

  fail(error: Error): void {
    this.failure = error;
    this.wake?.();
  }

  async *elements<T>(coder: Coder<T>): AsyncGenerator<T> {
    const reader = new ByteReader();
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk) {
        this.onConsumed(chunk.length);
        reader.reset(chunk);
        while (!reader.atEnd) yield coder.decode(reader, "nested");
        continue;
      }
      if (this.failure) throw this.failure;
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }
}

class Outbox<T> {
  private readonly writer = new ByteWriter(64 * 1024);
  private timer: NodeJS.Timeout | undefined;
  /** A failed timed flush: the next send or flush reports it (a timer has nobody to throw to). */
  private failure: Error | undefined;
  private discarded = false;
  constructor(
    private readonly channel: DataChannel,
    private readonly instructionId: string,
    private readonly transformId: string,
    private readonly coder: Coder<T>,
  ) {}

  send(element: T): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    this.coder.encode(element, this.writer, "nested");
    if (this.writer.length >= this.channel.flushBytes) return this.flush(false);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush(false).catch((err: unknown) => {
        this.failure ??= err instanceof Error ? err : new Error(String(err));
      });
    }, this.channel.flushIntervalMs);
    return undefined;
  }

  flush(isLast: boolean): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.discarded) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    if (this.writer.length === 0 && !isLast) return Promise.resolve();
    const data = this.writer.finish();
    this.writer.reset();
    return this.channel.write({
      data: [{ instructionId: this.instructionId, transformId: this.transformId, data, isLast }],
    });
  }

  /** A failed bundle's output: nothing more is sent. */
  discard(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.discarded = true;
    this.writer.reset();
  }
}

export class DataChannel {
  readonly flushBytes: number;
  readonly flushIntervalMs: number;
  private readonly maxBufferedBytes: number;
  private readonly client: GenericClient;
  private readonly stream: grpc.ClientDuplexStream<fnApi.IElements, fnApi.Elements>;
  private readonly inboxes = new Map<string, Inbox>();
  /** Bundles that ended: late data for them (after a channel split or a failure) is dropped, not buffered. */
  private readonly finished = new Set<string>();
  private buffered = 0;
  private paused = false;
  private closedWith: Error | undefined;

  constructor(
    readonly url: string,
    workerId: string,
    options: DataChannelOptions = {},
  ) {
    this.maxBufferedBytes = options.maxBufferedBytes ?? 64 << 20;
    this.flushBytes = options.flushBytes ?? 1 << 20;
    this.flushIntervalMs = options.flushIntervalMs ?? 200;
    this.client = beamClient("org.apache.beam.model.fn_execution.v1.BeamFnData", url);
    this.stream = (
      this.client.Data as (m: grpc.Metadata) => grpc.ClientDuplexStream<fnApi.IElements, fnApi.Elements>
    ).call(this.client, workerMetadata(workerId));
    this.stream.on("data", (elements: fnApi.Elements) => this.receive(elements));
    this.stream.on("error", (err: Error) => this.close(err));
    this.stream.on("end", () => this.close(new Error(`data stream ${url} ended`)));
  }

  private key(instructionId: string, transformId: string): string {
    return `${instructionId}\u0000${transformId}`;
  }

  private inbox(instructionId: string, transformId: string): Inbox {
    const key = this.key(instructionId, transformId);
    let inbox = this.inboxes.get(key);
    if (!inbox) {
      inbox = new Inbox((bytes) => this.consumed(bytes));
      if (this.closedWith) inbox.fail(this.closedWith);
      this.inboxes.set(key, inbox);
    }
    return inbox;
  }

  private receive(elements: fnApi.Elements): void {
    for (const data of elements.data) {
      if (this.finished.has(data.instructionId ?? "")) continue;
      const bytes = data.data ?? new Uint8Array(0);
      this.buffered += bytes.length;
      this.inbox(data.instructionId ?? "", data.transformId ?? "").push(bytes, data.isLast === true);
    }
    if (!this.paused && this.buffered > this.maxBufferedBytes) {
      this.paused = true;
      this.stream.pause();
    }
  }

  private consumed(bytes: number): void {
    this.buffered -= bytes;
    if (this.paused && this.buffered <= this.maxBufferedBytes / 2) {
      this.paused = false;
      this.stream.resume();
    }
  }

  /** The decoded elements the runner sends a bundle's source transform, ending at its is_last. */
  receiveElements<T>(instructionId: string, transformId: string, coder: Coder<T>): AsyncIterable<T> {
    return this.inbox(instructionId, transformId).elements(coder);
  }

  /**
   * An output for a bundle's sink transform: `send` per element, then `close()` (flush with is_last), or
   * `discard()` when the bundle failed.
   */
  output<T>(instructionId: string, transformId: string, coder: Coder<T>): BundleOutput<T> {
    const outbox = new Outbox(this, instructionId, transformId, coder);
    return { send: (e) => outbox.send(e), close: () => outbox.flush(true), discard: () => outbox.discard() };
  }

  /** Forgets a finished (or failed) bundle's inboxes. */
  release(instructionId: string): void {
    for (const [key, inbox] of this.inboxes) {
      if (!key.startsWith(`${instructionId}\u0000`)) continue;
      this.consumed(inbox.drop());
      this.inboxes.delete(key);
    }
    this.finished.add(instructionId);
    if (this.finished.size > 10_000) this.finished.delete(this.finished.values().next().value!);
  }

  /** @internal */
  write(elements: fnApi.IElements): Promise<void> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => {
      const ok = this.stream.write(elements, (err: Error | null | undefined) => (err ? reject(err) : undefined));
      if (ok) resolve();
      else this.stream.once("drain", () => resolve());
    });
  }

  private close(err: Error): void {
    if (this.closedWith) return;
    this.closedWith = err;
    for (const inbox of this.inboxes.values()) inbox.fail(err);
  }

  shutdown(): void {
    this.close(new Error("data channel shut down"));
    this.stream.end();
    this.stream.cancel();
    this.client.close();
  }
}

/** One DataChannel per endpoint URL. */
export class DataChannels {
  private readonly channels = new Map<string, DataChannel>();
  constructor(
    private readonly workerId: string,
    private readonly options: DataChannelOptions = {},
  ) {}

  get(url: string): DataChannel {
    let channel = this.channels.get(url);
    if (!channel) {
      channel = new DataChannel(url, this.workerId, this.options);
      this.channels.set(url, channel);
    }
    return channel;
  }

  release(instructionId: string): void {
    for (const channel of this.channels.values()) channel.release(instructionId);
  }

  shutdown(): void {
    for (const channel of this.channels.values()) channel.shutdown();
    this.channels.clear();
  }
}
