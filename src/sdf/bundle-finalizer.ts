// Bundle finalization (Beam's BundleFinalizer): callbacks that run after the runner has durably committed the
// bundle's output, e.g. committing consumed Kafka offsets. They never run for a bundle that failed.

export type FinalizationCallback = () => void | Promise<void>;

export interface BundleFinalizer {
  /**
   * Registers `callback` to run once the bundle's output is committed. `expiryMs` is a wall-clock deadline (epoch
   * milliseconds): a runner that has not finalized the bundle by then drops the callback.
   */
  afterBundleCommit(expiryMs: number, callback: FinalizationCallback): void;
}
