// Translation of a pipeline graph to a Runner API Pipeline proto: what the portable path submits (Job API) and
// what a runner fuses into ProcessBundleDescriptors for our worker. Every PCollection needs a coder (declared
// with withCoder, from a DoFn's outputCoder, or inferred: Impulse -> bytes, GroupByKey -> KV<K, Iterable<V>>,
// Flatten/WindowInto/Filter -> the input's), and every ParDo a portable DoFn (doFnPayload()).
import {
  bytesCoder,
  CoderComponentSet,
  CoderUrns,
  globalWindowCoder,
  intervalWindowCoder,
  iterableCoder,
  kvCoder,
  type Coder,
} from "../model/coders/index.js";
import { runnerApi, urns } from "../model/proto/index.js";
import { doFnSpec, type DoFnPayload } from "../model/dofn-payload.js";
import { windowFnSpec, windowingStrategy } from "../model/windowing-strategy.js";
import type { AnyDoFn, AnySplittableDoFn, Trigger, WindowFn } from "../sdf/index.js";
import type { PipelineGraph, TransformNode } from "./graph.js";
import type { Pipeline } from "./pipeline.js";
import { structuralKey } from "./structural.js";

/**
 * Thrown by pipelineToRunnerApi with every problem it found, one per line: a PCollection without a coder (declare one
 * with withCoder()), a DoFn without doFnPayload(), a coder the Runner API cannot represent. Not retriable.
 */
export class PipelineTranslationError extends Error {
  override readonly name = "PipelineTranslationError";
  readonly code = "PIPELINE_TRANSLATION";
  readonly retriable = false;
}

/** Options of pipelineToRunnerApi: the environment every ParDo runs in, and how generated ids are named. */
export interface RunnerApiOptions {
  /** The environment our DoFns run in (e.g. beam:env:process:v1 booting our worker). */
  readonly environment: runnerApi.IEnvironment;
  /** Default "kbt-environment". */
  readonly environmentId?: string;
  /** Prefix of generated coder and windowing strategy ids (default ""). */
  readonly idPrefix?: string;
  /**
   * The coder of a PCollection that declares none and whose coder cannot be inferred (what a Map returns). Without
   * it such a PCollection is a translation error; the portable runner passes the JavaScript value coder.
   */
  readonly defaultCoder?: Coder<unknown>;
  /**
   * The payload of a ParDo whose DoFn has no doFnPayload() of its own (user code), or undefined if it cannot be
   * shipped. The portable runner names the DoFn by the module that builds the pipeline and the transform's name.
   */
  readonly shipDoFn?: (node: TransformNode) => DoFnPayload | undefined;
}

const P = urns.StandardPTransforms.Primitives;
const REQUIREMENTS = urns.StandardRequirements.Enum;

function triggerSuffix(trigger: Trigger): string {
  if (trigger.kind === "element-count") return `-every-${trigger.count}`;
  return trigger.kind === "every-element" ? "-every-element" : "";
}

/**
 * Translates a pipeline to a Runner API Pipeline proto, for a portable runner. Undeclared coders are inferred where
 * possible; windowing strategies use Beam's defaults (default trigger, discarding, no allowed lateness). Throws
 * PipelineTranslationError listing every problem at once.
 */
export function pipelineToRunnerApi(pipeline: Pipeline, options: RunnerApiOptions): runnerApi.Pipeline {
  return new Translation(pipeline.graph, options).run();
}

class Translation {
  private readonly coders: CoderComponentSet;
  private readonly windowingStrategies: Record<string, runnerApi.IWindowingStrategy> = {};
  private readonly strategyIds = new Map<string, string>();
  private readonly inferred = new Map<string, Coder<unknown> | null>();
  private readonly requirements = new Set<string>();
  private readonly problems: string[] = [];
  private readonly environmentId: string;
  private readonly prefix: string;
  /** PCollections a GroupByKey consumes: the runner groups them, so a default coder for them must be a KV. */
  private readonly grouped = new Set<string>();

  constructor(
    private readonly graph: PipelineGraph,
    private readonly options: RunnerApiOptions,
  ) {
    this.environmentId = options.environmentId ?? "kbt-environment";
    this.prefix = options.idPrefix ?? "";
    this.coders = new CoderComponentSet(this.prefix);
    for (const node of Object.values(graph.transforms)) {
      if (node.payload.kind === "group-by-key") for (const input of Object.values(node.inputs)) this.grouped.add(input);
    }
    // Transforms that pass their input's coder on (WindowInto, Flatten, Filter) pass "grouped" upstream.
    for (let changed = true; changed; ) {
      changed = false;
      for (const node of Object.values(graph.transforms)) {
        const p = node.payload;
        const passesCoder =
          p.kind === "window-into" || p.kind === "flatten" || (p.kind === "pardo" && p.preservesCoder === true);
        if (!passesCoder || !Object.values(node.outputs).some((o) => this.grouped.has(o))) continue;
        for (const input of Object.values(node.inputs)) {
          if (!this.grouped.has(input)) {
            this.grouped.add(input);
            changed = true;
          }
        }
      }
    }
  }

  run(): runnerApi.Pipeline {
    const transforms: Record<string, runnerApi.IPTransform> = {};
    for (const node of Object.values(this.graph.transforms)) transforms[node.id] = this.transform(node);
    const pcollections: Record<string, runnerApi.IPCollection> = {};
    for (const pc of Object.values(this.graph.pcollections)) {
      const coder = this.coderOf(pc.id);
      if (coder === undefined) {
        this.problems.push(
          `PCollection ${pc.id} (output of ${pc.producer}) has no coder: declare one with withCoder()`,
        );
        continue;
      }
      pcollections[pc.id] = {
        uniqueName: pc.id,
        coderId: this.coderId(coder, `PCollection ${pc.id}`),
        isBounded: pc.isBounded ? runnerApi.IsBounded.Enum.BOUNDED : runnerApi.IsBounded.Enum.UNBOUNDED,
        windowingStrategyId: this.windowingStrategyId(pc.windowFn, pc.trigger),
      };
    }
    if (this.problems.length > 0) {
      throw new PipelineTranslationError(
        `cannot translate the pipeline to a Runner API proto:\n- ${this.problems.join("\n- ")}`,
      );
    }
    return runnerApi.Pipeline.create({
      components: {
        transforms,
        pcollections,
        windowingStrategies: this.windowingStrategies,
        coders: this.coders.coders as Record<string, runnerApi.ICoder>,
        environments: { [this.environmentId]: this.options.environment },
      },
      rootTransformIds: [...this.graph.roots],
      requirements: [...this.requirements],
    });
  }

  private transform(node: TransformNode): runnerApi.IPTransform {
    const base: runnerApi.IPTransform = {
      uniqueName: node.id,
      inputs: { ...node.inputs },
      outputs: { ...node.outputs },
      subtransforms: [...node.subtransforms],
    };
    const p = node.payload;
    switch (p.kind) {
      case "composite":
        return p.urn ? { ...base, spec: { urn: p.urn } } : base;
      case "impulse":
        return { ...base, spec: { urn: P.IMPULSE } };
      case "flatten":
        return { ...base, spec: { urn: P.FLATTEN } };
      case "group-by-key":
        return { ...base, spec: { urn: P.GROUP_BY_KEY } };
      case "window-into":
        // Assigning windows is the SDK's work: the runner sends it to our worker like a ParDo.
        return {
          ...base,
          spec: {
            urn: P.ASSIGN_WINDOWS,
            payload: runnerApi.WindowIntoPayload.encode({ windowFn: windowFnSpec(p.windowFn) }).finish(),
          },
          environmentId: this.environmentId,
        };
      case "pardo":
        return {
          ...base,
          spec: { urn: P.PAR_DO, payload: this.parDoPayload(node, p.dofn, p.splittable) },
          environmentId: this.environmentId,
        };
    }
  }

  private parDoPayload(node: TransformNode, dofn: AnyDoFn | AnySplittableDoFn, splittable: boolean): Uint8Array {
    const shipped = typeof dofn.doFnPayload === "function" ? dofn.doFnPayload() : this.options.shipDoFn?.(node);
    if (shipped === undefined) {
      this.problems.push(
        `ParDo ${node.id}: its DoFn has no doFnPayload(), so a Fn API worker cannot rebuild it` +
          (this.options.shipDoFn ? "" : " (the portable runner ships user DoFns through pipelineModule)"),
      );
      return new Uint8Array(0);
    }
    const payload: runnerApi.IParDoPayload = { doFn: doFnSpec(shipped) };
    if (splittable) {
      this.requirements.add(REQUIREMENTS.REQUIRES_SPLITTABLE_DOFN);
      // As Beam's SDKs do: the "restriction coder" is KV<restriction, watermark-estimator state>.
      const sdf = dofn as AnySplittableDoFn;
      payload.restrictionCoderId = this.coderId(
        kvCoder(sdf.restrictionCoder, sdf.watermarkStateCoder) as Coder<unknown>,
        `restriction coder of ${node.id}`,
      );
    }
    if (dofn.requestsFinalization) {
      this.requirements.add(REQUIREMENTS.REQUIRES_BUNDLE_FINALIZATION);
      payload.requestsFinalization = true;
    }
    if (dofn.requiresStableInput) {
      // Runners check the flag against the pipeline's requirements (Flink refuses the flag without the requirement).
      this.requirements.add(REQUIREMENTS.REQUIRES_STABLE_INPUT);
      payload.requiresStableInput = true;
    }
    return runnerApi.ParDoPayload.encode(payload).finish();
  }

  private coderId(coder: Coder<unknown>, what: string): string {
    try {
      return this.coders.add(coder);
    } catch (err) {
      this.problems.push(`${what}: ${(err as Error).message}`);
      return "";
    }
  }

  private windowingStrategyId(windowFn: WindowFn, trigger: Trigger): string {
    const key = structuralKey([windowFn, trigger]);
    const known = this.strategyIds.get(key);
    if (known !== undefined) return known;
    const windows =
      windowFn.kind === "global" ? "global-windows" : `fixed-windows-${windowFn.sizeMs}ms-${windowFn.offsetMs}ms`;
    const id = `${this.prefix}${windows}${triggerSuffix(trigger)}`;
    const windowCoder = windowFn.kind === "global" ? globalWindowCoder : intervalWindowCoder;
    this.windowingStrategies[id] = windowingStrategy(windowFn, trigger, {
      windowCoderId: this.coderId(windowCoder as Coder<unknown>, `window coder of ${id}`),
      environmentId: this.environmentId,
    });
    this.strategyIds.set(key, id);
    return id;
  }

  /** The declared coder, else one inferred from the producing primitive. */
  private coderOf(pcId: string): Coder<unknown> | undefined {
    const pc = this.graph.pcollections[pcId]!;
    if (pc.coder !== undefined) return pc.coder;
    if (this.inferred.has(pcId)) return this.inferred.get(pcId) ?? undefined;
    this.inferred.set(pcId, null);
    const producer = this.graph.transforms[pc.producer]!;
    const firstInput = Object.values(producer.inputs)[0];
    let coder: Coder<unknown> | undefined;
    const p = producer.payload;
    switch (p.kind) {
      case "impulse":
        coder = bytesCoder as Coder<unknown>;
        break;
      case "flatten":
      case "window-into":
        coder = firstInput === undefined ? undefined : this.coderOf(firstInput);
        break;
      case "group-by-key": {
        const input = firstInput === undefined ? undefined : this.coderOf(firstInput);
        if (input !== undefined && input.urn === CoderUrns.KV) {
          coder = kvCoder(input.components[0]!, iterableCoder(input.components[1]!)) as Coder<unknown>;
        }
        break;
      }
      case "pardo":
        if (producer.outputs[p.mainOutput] === pcId) {
          coder =
            p.preservesCoder && firstInput !== undefined
              ? this.coderOf(firstInput)
              : (p.dofn.outputCoder as Coder<unknown> | undefined);
        }
        break;
      case "composite":
        break;
    }
    const fallback = this.options.defaultCoder;
    if (coder === undefined && fallback !== undefined) {
      coder = this.grouped.has(pcId) ? (kvCoder(fallback, fallback) as Coder<unknown>) : fallback;
    }
    this.inferred.set(pcId, coder ?? null);
    return coder;
  }
}
