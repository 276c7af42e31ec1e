// "Try again after the client's backoff until a deadline": the loop every client operation that rides out a broker
// restart or a moving coordinator shares.
import type { RetryOptions } from "../config/index.js";
import { isRetriableKafkaError } from "../errors.js";

/**
 * Runs `op` until it resolves. A failure that `retriable` accepts (Kafka's retriable errors by default) is tried
 * again after the backoff for its attempt (`backoffMs`, the client's by default), unless that would pass `deadline`
 * (epoch ms); then, and for any other failure, the error is thrown as it is.
 */
export async function retryUntil<T>(
  deadline: number,
  retry: RetryOptions,
  op: (attempt: number) => Promise<T>,
  retriable: (err: unknown) => boolean = isRetriableKafkaError,
  backoffMs: (attempt: number, err: unknown) => number = (attempt) => retryBackoffMs(attempt, retry),
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await op(attempt);
    } catch (err) {
      const backoff = backoffMs(attempt, err);
      if (!retriable(err) || Date.now() + backoff > deadline) throw err;
      await sleep(backoff);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Exponential retry backoff: `retry.backoff.ms` doubling per attempt, capped at `retry.backoff.max.ms`. */
export function retryBackoffMs(attempt: number, retry: RetryOptions): number {
  return Math.min(retry.maxBackoffMs, retry.initialBackoffMs * 2 ** attempt);
}
