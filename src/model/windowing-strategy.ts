// WindowingStrategy protos: how a window function and a trigger go on the wire, in one place for both of our
// translators (a native pipeline's Runner API graph, pipeline/runner-api.ts, and the expansion service's
// transforms, expansion/components.ts). Accumulation is always discarding, allowed lateness 0, windows non-merging.
import { fromBigInt, runnerApi, urns } from "./proto/index.js";
import type { Trigger, WindowFn } from "./windowing.js";

function millisDuration(ms: bigint): { seconds: ReturnType<typeof fromBigInt>; nanos: number } {
  const seconds = ms / 1000n;
  return { seconds: fromBigInt(seconds), nanos: Number(ms - seconds * 1000n) * 1_000_000 };
}

/** Beam's standard window function payload (also what a WindowInto transform carries). */
export function windowFnSpec(windowFn: WindowFn): runnerApi.IFunctionSpec {
  if (windowFn.kind === "global") return { urn: urns.GlobalWindowsPayload.Enum.PROPERTIES };
  const payload = runnerApi.FixedWindowsPayload.encode({
    size: millisDuration(windowFn.sizeMs),
    offset: millisDuration(windowFn.offsetMs),
  }).finish();
  return { urn: urns.FixedWindowsPayload.Enum.PROPERTIES, payload };
}

function triggerSpec(trigger: Trigger): runnerApi.ITrigger {
  if (trigger.kind === "default") return { default: {} };
  // Java's ReshuffleTrigger is `always` on the wire.
  if (trigger.kind === "every-element") return { always: {} };
  return { repeat: { subtrigger: { elementCount: { elementCount: trigger.count } } } };
}

export interface WindowingStrategyOptions {
  readonly windowCoderId: string;
  readonly environmentId: string;
  /**
   * A pane when the window closes even if it is empty (EMIT_ALWAYS, FIRE_ALWAYS), as Beam SDKs default the global
   * windowing of the PCollections they hand us; otherwise only non-empty panes.
   */
  readonly fireWhenEmpty?: boolean;
}

export function windowingStrategy(
  windowFn: WindowFn,
  trigger: Trigger,
  options: WindowingStrategyOptions,
): runnerApi.IWindowingStrategy {
  return {
    windowFn: windowFnSpec(windowFn),
    mergeStatus: runnerApi.MergeStatus.Enum.NON_MERGING,
    windowCoderId: options.windowCoderId,
    trigger: triggerSpec(trigger),
    accumulationMode: runnerApi.AccumulationMode.Enum.DISCARDING,
    // Panes of every-element triggers keep their elements' time (they only move data between workers).
    outputTime:
      trigger.kind === "every-element"
        ? runnerApi.OutputTime.Enum.EARLIEST_IN_PANE
        : runnerApi.OutputTime.Enum.END_OF_WINDOW,
    closingBehavior: options.fireWhenEmpty
      ? runnerApi.ClosingBehavior.Enum.EMIT_ALWAYS
      : runnerApi.ClosingBehavior.Enum.EMIT_IF_NONEMPTY,
    onTimeBehavior: options.fireWhenEmpty
      ? runnerApi.OnTimeBehavior.Enum.FIRE_ALWAYS
      : runnerApi.OnTimeBehavior.Enum.FIRE_IF_NONEMPTY,
    allowedLateness: fromBigInt(0n),
    assignsToOneWindow: true,
    environmentId: options.environmentId,
  };
}
