// The callbacks a bundle registered through its BundleFinalizer, held until the runner says the bundle's output
// is committed (finalize) or dropped because it failed (discard).
import type { BundleFinalizer, FinalizationCallback, FinalizationOptions } from "../../sdf/index.js";

interface Registered {
  readonly expiryMs: number;
  readonly callback: FinalizationCallback;
  readonly latestWins: string | undefined;
}

/** Where a bundle stands among those of one executor, for `latestWins` callbacks (see FinalizationOptions). */
export interface FinalizationOrder {
  /** The bundle's place in the order the executor's bundles finished (higher = later). */
  readonly sequence: number;
  /** Per latest-wins key, the highest sequence whose callback has run; updated here. */
  readonly latestRun: Map<string, number>;
}

export interface FinalizationOutcome {
  readonly ran: number;
  readonly expired: number;
  /** Latest-wins callbacks skipped because a later bundle's had run. */
  readonly superseded: number;
}

export class FinalizationCallbacks implements BundleFinalizer {
  private callbacks: Registered[] = [];
  private closed = false;

  afterBundleCommit(expiryMs: number, callback: FinalizationCallback, options: FinalizationOptions = {}): void {
    if (this.closed) throw new Error("afterBundleCommit called after the bundle was finalized or discarded");
    if (typeof callback !== "function") throw new TypeError("afterBundleCommit needs a callback function");
    this.callbacks.push({ expiryMs, callback, latestWins: options.latestWins });
  }

  get size(): number {
    return this.callbacks.length;
  }

  /**
   * Runs every unexpired callback once, in registration order. All of them run even if one fails; the first
   * failure is then thrown (an AggregateError when several failed). With an `order`, a latest-wins callback is
   * skipped when a later bundle's callback under its key has already run.
   */
  async runAll(nowMs: number, order?: FinalizationOrder): Promise<FinalizationOutcome> {
    const pending = this.callbacks;
    this.callbacks = [];
    this.closed = true;
    const errors: unknown[] = [];
    let ran = 0;
    let expired = 0;
    let superseded = 0;
    for (const { expiryMs, callback, latestWins } of pending) {
      if (expiryMs < nowMs) {
        expired++;
        continue;
      }
      if (order && latestWins !== undefined) {
        if ((order.latestRun.get(latestWins) ?? -Infinity) > order.sequence) {
          superseded++;
          continue;
        }
        // Claimed before the callback runs: a later bundle finalized meanwhile still wins.
        order.latestRun.set(latestWins, order.sequence);
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
    return { ran, expired, superseded };
  }

  discard(): void {
    this.callbacks = [];
    this.closed = true;
  }
}
