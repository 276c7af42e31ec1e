// Closed-loop Expand load: N callers, each on a connection of its own (as N SDK processes would be), each sending
// its next request as soon as the previous one is answered, for a fixed time. Every response is checked by the
// caller's `check`; a status, a deadline or a failed check is an error, with the first few kept for the message.
import { rawExpansionClient } from "./expansion-client.js";
import { statusName } from "./expansion-client.js";

export interface LoadRequest {
  readonly bytes: Uint8Array;
  /** Throws (or returns a reason) if the response bytes are not the expected expansion. */
  check(response: Buffer): string | undefined;
}

export interface LoadOptions {
  readonly address: string;
  readonly callers: number;
  readonly seconds: number;
  /** Per call; an answer later than this is an error. */
  readonly deadlineMs: number;
  /** The i-th request of caller c. */
  request(caller: number, i: number): LoadRequest;
}

export interface LoadResult {
  readonly calls: number;
  readonly errors: number;
  /** The first errors, for the failure message. */
  readonly firstErrors: readonly string[];
  /** Every call's latency in ms, sorted. */
  readonly latencies: readonly number[];
  readonly seconds: number;
}

/** The p-th percentile (0–100) of sorted values, nearest rank. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export async function runExpandLoad(options: LoadOptions): Promise<LoadResult> {
  const clients = Array.from({ length: options.callers }, () =>
    rawExpansionClient(options.address, { ownConnection: true }),
  );
  const latencies: number[] = [];
  const firstErrors: string[] = [];
  let errors = 0;
  const fail = (why: string) => {
    errors++;
    if (firstErrors.length < 5) firstErrors.push(why);
  };
  const started = performance.now();
  const endAt = started + options.seconds * 1000;
  try {
    await Promise.all(
      clients.map(async (client, caller) => {
        for (let i = 0; performance.now() < endAt; i++) {
          const request = options.request(caller, i);
          const outcome = await client.call("Expand", request.bytes, options.deadlineMs);
          latencies.push(outcome.millis);
          if (!outcome.ok) {
            fail(`caller ${caller} call ${i}: ${statusName(outcome.code)} ${outcome.details}`);
            continue;
          }
          let why: string | undefined;
          try {
            why = request.check(outcome.bytes);
          } catch (err) {
            why = (err as Error).message;
          }
          if (why) fail(`caller ${caller} call ${i}: ${why}`);
        }
      }),
    );
  } finally {
    for (const client of clients) client.close();
  }
  return {
    calls: latencies.length,
    errors,
    firstErrors,
    latencies: latencies.sort((a, b) => a - b),
    seconds: (performance.now() - started) / 1000,
  };
}
