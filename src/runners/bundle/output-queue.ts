// Ordered delivery of outputs to possibly-asynchronous receivers. When everything downstream is synchronous no
// promise is created at all (the hot path); once a receiver returns a promise, later outputs of the same operation
// queue behind it, so elements arrive in emission order and a DoFn is never re-entered concurrently.
import type { WindowedValue } from "../../model/windowing.js";
import type { OutputResult } from "../../sdf/index.js";

export interface Receiver {
  receive(element: WindowedValue<unknown>): OutputResult;
}

export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== undefined && value !== null && typeof (value as PromiseLike<unknown>).then === "function";
}

const ignore = (): void => {};

export class OutputQueue {
  private tail: Promise<void> | undefined;

  push(receiver: Receiver, element: WindowedValue<unknown>): OutputResult {
    if (this.tail === undefined) {
      const result = receiver.receive(element);
      return isPromiseLike(result) ? this.track(Promise.resolve(result) as Promise<void>) : undefined;
    }
    // A failed predecessor rejects the chain: later outputs are not delivered, and the failure surfaces at drain().
    return this.track(this.tail.then(() => receiver.receive(element)));
  }

  /** Settles when every output pushed so far was delivered; undefined when nothing is pending. */
  drain(): OutputResult {
    return this.tail;
  }

  reset(): void {
    this.tail = undefined;
  }

  private track(pending: Promise<void>): Promise<void> {
    this.tail = pending;
    // Marks the rejection handled (it is rethrown by drain) and clears the tail once the queue is idle again.
    pending.then(() => {
      if (this.tail === pending) this.tail = undefined;
    }, ignore);
    return pending;
  }
}
