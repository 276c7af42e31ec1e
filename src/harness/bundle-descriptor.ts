// A Fn API ProcessBundleDescriptor as the bundle processor's graph: data ports become sources and sinks with their
// wire coders, ParDos and the SDF steps get our DoFns from the registry, flatten and window_into map directly.
import { fnApi, runnerApi, toBigInt, urns } from "../model/proto/index.js";
import { coderFromComponents, windowedValueCoder, type Coder } from "../model/coders/index.js";
import type { BoundedWindow, WindowedValue } from "../model/windowing.js";
import { KBT_DOFN_URN } from "../model/kbt-urns.js";
import { decodeDoFnPayload } from "../model/dofn-payload.js";
import {
  GLOBAL_WINDOW_FN,
  fixedWindowFn,
  isSplittableDoFn,
  type AnyDoFn,
  type AnySplittableDoFn,
  type WindowFn,
} from "../sdf/index.js";
import {
  sdfElementCoders,
  type BundleDescriptor,
  type TransformSpec,
  type SdfStepKind,
} from "../runners/bundle/index.js";
import type { DoFnRegistry } from "./dofn-registry.js";

export const DATA_SOURCE_URN = "beam:runner:source:v1";
export const DATA_SINK_URN = "beam:runner:sink:v1";

const PT = urns.StandardPTransforms;
const SDF_STEPS: Readonly<Record<string, SdfStepKind>> = {
  [PT.SplittableParDoComponents.PAIR_WITH_RESTRICTION]: "sdf-pair-with-restriction",
  [PT.SplittableParDoComponents.SPLIT_AND_SIZE_RESTRICTIONS]: "sdf-split-and-size-restrictions",
  [PT.SplittableParDoComponents.TRUNCATE_SIZED_RESTRICTION]: "sdf-truncate-sized-restrictions",
  [PT.SplittableParDoComponents.PROCESS_SIZED_ELEMENTS_AND_RESTRICTIONS]: "sdf-process-sized-element-and-restrictions",
};

/**
 * A ProcessBundleDescriptor this worker cannot run (a transform, DoFn or window fn it does not support). The worker
 * answers the ProcessBundle instruction with its message.
 */
export class DescriptorError extends Error {
  override readonly name = "DescriptorError";
  readonly code = "DESCRIPTOR_UNSUPPORTED";
}

/**
 * A data source or sink of the descriptor: the BeamFnData endpoint its elements travel over and their coder on the
 * wire (rebuilt around the DoFn's own coders for ports of SDF steps).
 */
export interface DataPort {
  readonly url: string;
  readonly coder: Coder<WindowedValue<unknown>>;
}

/** A ProcessBundleDescriptor translated: the bundle processor's graph and its data ports by transform id. */
export interface TranslatedDescriptor {
  readonly graph: BundleDescriptor;
  readonly sources: ReadonlyMap<string, DataPort>;
  readonly sinks: ReadonlyMap<string, DataPort>;
  /** Per SDF-process transform: the coder its residual and primary roots are encoded with. */
  readonly applicationCoders: ReadonlyMap<string, Coder<WindowedValue<unknown>>>;
}

function windowFnOf(spec: runnerApi.IFunctionSpec | null | undefined): WindowFn {
  const urn = spec?.urn ?? "";
  if (urn === urns.GlobalWindowsPayload.Enum.PROPERTIES) return GLOBAL_WINDOW_FN;
  if (urn === urns.FixedWindowsPayload.Enum.PROPERTIES) {
    const fixed = runnerApi.FixedWindowsPayload.decode(spec?.payload ?? new Uint8Array(0));
    const sizeMs = toBigInt(fixed.size?.seconds) * 1000n + BigInt(Math.floor((fixed.size?.nanos ?? 0) / 1e6));
    const offsetMs = toBigInt(fixed.offset?.seconds) * 1000n + BigInt(Math.floor((fixed.offset?.nanos ?? 0) / 1e6));
    return fixedWindowFn(sizeMs, offsetMs);
  }
  throw new DescriptorError(
    `window_into with window fn ${urn || "(none)"} is not supported (global and fixed windows are)`,
  );
}

/**
 * Translates a ProcessBundleDescriptor for the bundle processor, with fresh DoFn instances from `registry` (so one
 * translation per concurrently running bundle). Throws DescriptorError for a transform URN, DoFn, side input or
 * window fn this worker does not support.
 */
export function translateDescriptor(pbd: fnApi.IProcessBundleDescriptor, registry: DoFnRegistry): TranslatedDescriptor {
  const coders = pbd.coders ?? {};
  const cache = new Map<string, Coder<unknown>>();
  const coder = (id: string) =>
    coderFromComponents(id, coders, { unknownAsBytesInLengthPrefix: true, cache }) as Coder<unknown>;
  const transforms: Record<string, TransformSpec> = {};
  const sources = new Map<string, DataPort>();
  const sinks = new Map<string, DataPort>();
  const producers = new Map<string, string>();

  for (const [id, t] of Object.entries(pbd.transforms ?? {})) {
    for (const pc of Object.values(t.outputs ?? {})) producers.set(pc, id);
  }

  for (const [id, t] of Object.entries(pbd.transforms ?? {})) {
    const urn = t.spec?.urn ?? "";
    const base = { name: t.uniqueName || id, inputs: { ...(t.inputs ?? {}) }, outputs: { ...(t.outputs ?? {}) } };
    if (urn === DATA_SOURCE_URN || urn === DATA_SINK_URN) {
      const port = fnApi.RemoteGrpcPort.decode(t.spec?.payload ?? new Uint8Array(0));
      const dataPort = {
        url: port.apiServiceDescriptor?.url ?? "",
        coder: coder(port.coderId) as Coder<WindowedValue<unknown>>,
      };
      if (urn === DATA_SOURCE_URN) {
        sources.set(id, dataPort);
        transforms[id] = { kind: "source", ...base };
      } else {
        sinks.set(id, dataPort);
        transforms[id] = { kind: "sink", ...base };
      }
      continue;
    }
    if (urn === PT.Primitives.PAR_DO || SDF_STEPS[urn]) {
      const payload = runnerApi.ParDoPayload.decode(t.spec?.payload ?? new Uint8Array(0));
      const fnUrn = payload.doFn?.urn ?? "";
      if (fnUrn !== KBT_DOFN_URN)
        throw new DescriptorError(
          `transform ${base.name}: DoFn ${fnUrn || "(none)"} is not one of this SDK's (${KBT_DOFN_URN})`,
        );
      if (Object.keys(payload.sideInputs ?? {}).length > 0)
        throw new DescriptorError(`transform ${base.name}: side inputs are not supported`);
      const fnPayload = decodeDoFnPayload(payload.doFn?.payload ?? new Uint8Array(0));
      const factory = registry[fnPayload.fn];
      if (!factory)
        throw new DescriptorError(
          `transform ${base.name}: no DoFn named ${JSON.stringify(fnPayload.fn)} in this worker (known: ${Object.keys(registry).join(", ")})`,
        );
      const dofn = factory(fnPayload);
      const step = SDF_STEPS[urn];
      if (step) {
        if (!isSplittableDoFn(dofn))
          throw new DescriptorError(`transform ${base.name}: ${fnPayload.fn} is not a splittable DoFn`);
        transforms[id] = { kind: step, dofn, ...base };
      } else {
        const mainOutput = typeof fnPayload.mainOutput === "string" ? { mainOutput: fnPayload.mainOutput } : {};
        transforms[id] = { kind: "pardo", dofn: dofn as AnyDoFn, ...base, ...mainOutput };
      }
      continue;
    }
    if (urn === PT.Primitives.FLATTEN) {
      transforms[id] = { kind: "flatten", ...base };
      continue;
    }
    if (urn === PT.Primitives.ASSIGN_WINDOWS) {
      const payload = runnerApi.WindowIntoPayload.decode(t.spec?.payload ?? new Uint8Array(0));
      transforms[id] = { kind: "window-into", windowFn: windowFnOf(payload.windowFn), ...base };
      continue;
    }
    throw new DescriptorError(`transform ${base.name}: URN ${urn || "(none)"} is not supported by this worker`);
  }

  // Ports carrying an SDF step's paired or sized elements decode restrictions and watermark states with the DoFn's
  // own coders: the wire has them as standard coders (KV<from, to>, ...), the DoFn works on its own types.
  const shapes = sdfShapes(transforms);
  for (const ports of [sources, sinks]) {
    for (const [portId, port] of ports) {
      const spec = transforms[portId]!;
      const pc = Object.values(ports === sources ? spec.outputs : spec.inputs)[0];
      const shape = pc !== undefined ? shapes.get(pc) : undefined;
      if (!shape) continue;
      const sdfCoder = sdfPortCoder(port.coder, shape.dofn, shape.kind === "paired");
      if (sdfCoder) ports.set(portId, { url: port.url, coder: sdfCoder });
    }
  }

  // Roots of an SDF-process transform are encoded like its input on the wire: the feeding source's coder, or the
  // input PCollection's coder in its windows.
  const applicationCoders = new Map<string, Coder<WindowedValue<unknown>>>();
  for (const [id, spec] of Object.entries(transforms)) {
    if (spec.kind !== "sdf-process-sized-element-and-restrictions") continue;
    const input = Object.values(spec.inputs)[0]!;
    const producer = producers.get(input);
    const source = producer !== undefined ? sources.get(producer) : undefined;
    if (source) {
      applicationCoders.set(id, source.coder);
      continue;
    }
    const pc = pbd.pcollections?.[input];
    const strategy = pc ? pbd.windowingStrategies?.[pc.windowingStrategyId ?? ""] : undefined;
    if (!pc || !strategy)
      throw new DescriptorError(
        `transform ${id}: input ${input} has no PCollection or windowing strategy in the descriptor`,
      );
    applicationCoders.set(
      id,
      windowedValueCoder(coder(pc.coderId ?? ""), coder(strategy.windowCoderId ?? "") as Coder<BoundedWindow>) as Coder<
        WindowedValue<unknown>
      >,
    );
  }
  return { graph: { transforms }, sources, sinks, applicationCoders };
}

/** Which PCollections hold paired (element, restriction+state) or sized (paired, size) elements, and of which DoFn. */
function sdfShapes(
  transforms: Readonly<Record<string, TransformSpec>>,
): Map<string, { kind: "paired" | "sized"; dofn: AnySplittableDoFn }> {
  const shapes = new Map<string, { kind: "paired" | "sized"; dofn: AnySplittableDoFn }>();
  for (const spec of Object.values(transforms)) {
    if (
      spec.kind === "source" ||
      spec.kind === "sink" ||
      spec.kind === "pardo" ||
      spec.kind === "flatten" ||
      spec.kind === "window-into"
    )
      continue;
    const dofn = spec.dofn;
    const input = Object.values(spec.inputs)[0];
    const output = Object.values(spec.outputs)[0];
    if (spec.kind === "sdf-pair-with-restriction") {
      if (output) shapes.set(output, { kind: "paired", dofn });
    } else if (spec.kind === "sdf-split-and-size-restrictions") {
      if (input) shapes.set(input, { kind: "paired", dofn });
      if (output) shapes.set(output, { kind: "sized", dofn });
    } else if (spec.kind === "sdf-truncate-sized-restrictions") {
      if (input) shapes.set(input, { kind: "sized", dofn });
      if (output) shapes.set(output, { kind: "sized", dofn });
    } else if (input) {
      shapes.set(input, { kind: "sized", dofn });
    }
  }
  return shapes;
}

/**
 * windowed_value(kv(kv(E, R), double)) (sized) or windowed_value(kv(E, R)) (paired) rebuilt around the DoFn's
 * restriction/state coders; undefined when the wire coder has another shape (then it is used as it is).
 */
function sdfPortCoder(
  wire: Coder<WindowedValue<unknown>>,
  dofn: AnySplittableDoFn,
  paired: boolean,
): Coder<WindowedValue<unknown>> | undefined {
  const [value, window] = wire.components;
  if (wire.urn !== "beam:coder:windowed_value:v1" || !value || !window) return undefined;
  const pairedWire = paired ? value : value.components[0];
  const element = pairedWire?.urn === "beam:coder:kv:v1" ? pairedWire.components[0] : undefined;
  if (!element || (!paired && value.urn !== "beam:coder:kv:v1")) return undefined;
  const coders = sdfElementCoders(element, dofn);
  return windowedValueCoder(
    (paired ? coders.paired : coders.sized) as Coder<unknown>,
    window as Coder<BoundedWindow>,
  ) as Coder<WindowedValue<unknown>>;
}
