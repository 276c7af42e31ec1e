// Bundle finalization (Beam's BundleFinalizer): callbacks that run after the runner has durably committed the
// bundle's output, e.g. committing consumed Kafka offsets. They never run for a bundle that failed.

/**
 * Work to do once a bundle's output is committed; a returned promise is awaited. Finalization is best-effort: the
 * callback may never run (the bundle failed, the deadline passed, the worker died), so skipping it must be safe.
 */
export type FinalizationCallback = () => void | Promise<void>;

/** Options of `BundleFinalizer.afterBundleCommit`. */
export interface FinalizationOptions {
  /**
   * For callbacks that record a position (a Kafka offset commit), where only the newest matters: once the callback
   * of a bundle that finished later has run under the same key, this one is skipped. Runners finalize bundles in any
   * order; without a key, an older position could overwrite a newer one.
   */
  readonly latestWins?: string;
}

/**
 * Beam's BundleFinalizer, in every DoFn context: registers callbacks that run after the runner has durably committed
 * the bundle's output, never for a bundle that failed. A DoFn that uses it should set `requestsFinalization`, so the
 * pipeline declares Beam's bundle finalization requirement and a runner that lacks it rejects the pipeline.
 */
export interface BundleFinalizer {
  /**
   * Registers `callback` to run once the bundle's output is committed. `expiryMs` is a wall-clock deadline (epoch
   * milliseconds): a runner that has not finalized the bundle by then drops the callback.
   */
  afterBundleCommit(expiryMs: number, callback: FinalizationCallback, options?: FinalizationOptions): void;
}
