// The callbacks a bundle registered through its BundleFinalizer, held until the runner says the bundle's output
// is committed (finalize) or dropped because it failed (discard).
import type { BundleFinalizer, FinalizationCallback } from "../../sdf/index.js";

interface Registered {
  readonly expiryMs: number;
  readonly callback: FinalizationCallback;
}

export class FinalizationCallbacks implements BundleFinalizer {
  private callbacks: Registered[] = [];
  private closed = false;

  afterBundleCommit(expiryMs: number, callback: FinalizationCallback): void {
    if (this.closed) throw new Error("afterBundleCommit called after the bundle was finalized or discarded");
    if (typeof callback !== "function") throw new TypeError("afterBundleCommit needs a callback function");
    this.callbacks.push({ expiryMs, callback });
  }

  get size(): number {
    return this.callbacks.length;
  }

  /**
   * Runs every unexpired callback once, in registration order. All of them run even if one fails; the first
   * failure is then thrown (an AggregateError when several failed). Returns how many ran and how many expired.
   */
  async runAll(nowMs: number): Promise<{ ran: number; expired: number }> {
    const pending = this.callbacks;
    this.callbacks = [];
    this.closed = true;
    const errors: unknown[] = [];
    let ran = 0;
    let expired = 0;
    for (const { expiryMs, callback } of pending) {
      if (expiryMs < nowMs) {
        expired++;
        continue;
      }
      try {
        ran++;
        await callback();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} bundle finalization callbacks failed`);
    return { ran, expired };
  }

  discard(): void {
    this.callbacks = [];
    this.closed = true;
  }
}
