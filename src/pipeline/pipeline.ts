// The typed pipeline API: a Pipeline records applied transforms into a plain-data graph; PCollections are typed
// handles onto that graph; a runner executes it.
import { DEFAULT_TRIGGER, GLOBAL_WINDOW_FN, type Coder, type Trigger, type WindowFn } from "../sdf/index.js";
import type { PCollectionNode, PipelineGraph, TransformPayload } from "./graph.js";

/**
 * Base class of every transform. `label` is its default name when applied (non-empty, no "/"). `expand` runs once,
 * when the transform is applied: it either applies other transforms to its input (a composite) or calls
 * `context.primitive` once (a primitive), never both.
 */
export abstract class PTransform<I, O> {
  /**
   * The URN of a Beam standard composite this transform is (e.g. beam:transform:redistribute_arbitrarily:v1): a
   * runner that knows it may replace the subtransforms with its own implementation, as Prism and the local runner
   * do with a Redistribute.
   */
  readonly urn?: string;
  constructor(readonly label: string) {}
  /** Builds this transform's part of the graph from `input` and returns its output(s); called by apply. */
  abstract expand(input: I, context: ExpandContext): O;
}

/** The input of transforms applied to the pipeline itself (sources). */
export class PBegin {
  constructor(readonly pipeline: Pipeline) {}
}

/**
 * A typed handle on one PCollection of a pipeline (elements of type T). Returned by applying transforms, not
 * constructed directly; apply transforms to it to extend the pipeline.
 */
export class PCollection<T> {
  /** Phantom: keeps T in the type. */
  declare readonly __element?: T;

  constructor(
    readonly pipeline: Pipeline,
    readonly id: string,
  ) {}

  /**
   * Applies `transform` to this PCollection under its own label and returns its output. Throws
   * PipelineConstructionError for an invalid label or graph.
   */
  apply<O>(transform: PTransform<PCollection<T>, O>): O;
  /** The same, under `label` (non-empty, no "/"; made unique with a `_2`, `_3`, ... suffix among its siblings). */
  apply<O>(label: string, transform: PTransform<PCollection<T>, O>): O;
  apply<O>(
    labelOrTransform: string | PTransform<PCollection<T>, O>,
    maybeTransform?: PTransform<PCollection<T>, O>,
  ): O {
    return this.pipeline.applyTransform(this, labelOrTransform, maybeTransform);
  }

  /** Declares the element coder (used when the pipeline is translated for a portable runner). */
  withCoder(coder: Coder<T>): this {
    this.pipeline.setCoder(this.id, coder as Coder<unknown>);
    return this;
  }

  /** The coder declared with withCoder, if any. */
  get coder(): Coder<unknown> | undefined {
    return this.pipeline.graph.pcollections[this.id]!.coder;
  }

  /** How its elements are windowed (the global window unless changed with WindowInto). */
  get windowFn(): WindowFn {
    return this.pipeline.graph.pcollections[this.id]!.windowFn;
  }

  /** When a GroupByKey of it emits (the default trigger unless changed with WindowInto). */
  get trigger(): Trigger {
    return this.pipeline.graph.pcollections[this.id]!.trigger;
  }

  /** False when its data may never end (e.g. a Kafka read without a stop condition). */
  get isBounded(): boolean {
    return this.pipeline.graph.pcollections[this.id]!.isBounded;
  }
}

/** What a primitive transform passes to `ExpandContext.primitive`: which primitive, its inputs and its outputs. */
export interface PrimitiveSpec {
  readonly payload: Exclude<TransformPayload, { kind: "composite" }>;
  /** Local input name -> PCollection (of the same pipeline). */
  readonly inputs: Readonly<Record<string, PCollection<unknown>>>;
  /** Local names of the output PCollections to create (e.g. [MAIN_OUTPUT]). */
  readonly outputs: readonly string[];
  /** Window function of the outputs (default: that of the first input, else global). */
  readonly windowFn?: WindowFn;
  /** Trigger of the outputs (default: that of the first input, else the default trigger). */
  readonly trigger?: Trigger;
  /** Default: bounded unless an input is unbounded. */
  readonly isBounded?: boolean;
}

/** Offered to expand(): turns the transform being expanded into a primitive of the graph. */
export interface ExpandContext {
  primitive(spec: PrimitiveSpec): Record<string, PCollection<unknown>>;
}

/**
 * State of a run: RUNNING until it finishes (DONE), fails (FAILED: an error was thrown while running) or is stopped
 * by cancel() (CANCELLED).
 */
export type PipelineState = "RUNNING" | "DONE" | "FAILED" | "CANCELLED";

/** Counts for one step of a run, summed over all its bundles so far. */
export interface StepMetrics {
  /** Elements received (an element in several windows counts once). */
  elementsIn: number;
  /** Elements emitted over all outputs (for a GroupByKey: groups). */
  elementsOut: number;
  /** Bundles that ran this step. */
  bundles: number;
  /** User counters by name. */
  counters: Record<string, number>;
}

/** The metrics of a run, as returned by PipelineHandle.metrics(). */
export interface PipelineMetrics {
  /** Per transform unique name (primitive transforms; user DoFns are ParDo primitives). */
  readonly steps: Readonly<Record<string, StepMetrics>>;
}

/** A started run, returned by Pipeline.run: its state, its completion, cancellation and metrics. */
export interface PipelineHandle {
  /** The current state; changes while the pipeline runs. */
  readonly state: PipelineState;
  /**
   * Resolves with the final state (DONE or CANCELLED), or "RUNNING" if `timeoutMs` passed first. Rejects with the
   * user's original error when the pipeline failed.
   */
  waitUntilFinish(timeoutMs?: number): Promise<PipelineState>;
  /** Stops the pipeline cleanly; resolves once it stopped. */
  cancel(): Promise<PipelineState>;
  /** A snapshot of the metrics so far; call again for fresh values. */
  metrics(): PipelineMetrics;
}

/** Executes pipelines. Use it through `Pipeline.run(runner)`; `H` is the runner's own handle type. */
export interface PipelineRunner<H extends PipelineHandle = PipelineHandle> {
  /** Starts executing `pipeline` and returns its handle without waiting for it to finish. */
  run(pipeline: Pipeline): H;
}

interface MutableNode {
  id: string;
  label: string;
  parent: string | undefined;
  payload: TransformPayload;
  inputs: Record<string, string>;
  outputs: Record<string, string>;
  subtransforms: string[];
}

/**
 * Thrown while a pipeline is built when the graph would be invalid: an empty label or one with "/", an input from
 * another pipeline, an empty Flatten.of, duplicate output tags, run() inside expand(). Not retriable: fix the pipeline.
 */
export class PipelineConstructionError extends Error {
  override readonly name = "PipelineConstructionError";
  readonly code = "PIPELINE_CONSTRUCTION";
  readonly retriable = false;
}

/**
 * Records the transforms applied to it as a graph; nothing executes until run(). Start with Pipeline.create(), apply
 * sources to it, then transforms to the PCollections they return.
 */
export class Pipeline {
  private readonly transforms: Record<string, MutableNode> = {};
  private readonly pcollections: Record<string, PCollectionNode> = {};
  private readonly roots: string[] = [];
  private readonly stack: MutableNode[] = [];
  /** The input of source transforms (what pipeline.apply passes to them). */
  readonly begin = new PBegin(this);

  /** A new, empty pipeline. */
  static create(): Pipeline {
    return new Pipeline();
  }

  /**
   * Applies a root transform (a source such as Create.of or a Kafka read, or Flatten.of) under its own label and
   * returns its output. Throws PipelineConstructionError for an invalid label or graph.
   */
  apply<O>(transform: PTransform<PBegin, O>): O;
  /** The same, under `label` (non-empty, no "/"; made unique with a `_2`, `_3`, ... suffix). */
  apply<O>(label: string, transform: PTransform<PBegin, O>): O;
  apply<O>(labelOrTransform: string | PTransform<PBegin, O>, maybeTransform?: PTransform<PBegin, O>): O {
    return this.applyTransform(this.begin, labelOrTransform, maybeTransform);
  }

  /** The graph recorded so far (a live view; do not mutate). */
  get graph(): PipelineGraph {
    return { transforms: this.transforms, pcollections: this.pcollections, roots: this.roots };
  }

  /**
   * Starts the pipeline on `runner` and returns its handle (await handle.waitUntilFinish() for the outcome). Throws
   * PipelineConstructionError when called from inside a transform's expand().
   */
  run<H extends PipelineHandle>(runner: PipelineRunner<H>): H {
    if (this.stack.length > 0)
      throw new PipelineConstructionError("cannot run a pipeline while a transform is being expanded");
    return runner.run(this);
  }

  /** @internal Used by PCollection.apply and Pipeline.apply. */
  applyTransform<I, O>(input: I, labelOrTransform: string | PTransform<I, O>, maybeTransform?: PTransform<I, O>): O {
    const transform = typeof labelOrTransform === "string" ? maybeTransform : labelOrTransform;
    if (transform === undefined)
      throw new PipelineConstructionError(`no transform given for label ${String(labelOrTransform)}`);
    const label = typeof labelOrTransform === "string" ? labelOrTransform : transform.label;
    if (!label || label.includes("/"))
      throw new PipelineConstructionError(
        `transform label must be non-empty and have no "/": ${JSON.stringify(label)}`,
      );
    const parent = this.stack[this.stack.length - 1];
    const node: MutableNode = {
      id: this.uniqueName(parent ? `${parent.id}/${label}` : label),
      label,
      parent: parent?.id,
      payload: transform.urn ? { kind: "composite", urn: transform.urn } : { kind: "composite" },
      inputs: this.inputsOf(input),
      outputs: {},
      subtransforms: [],
    };
    this.transforms[node.id] = node;
    if (parent) parent.subtransforms.push(node.id);
    else this.roots.push(node.id);
    this.stack.push(node);
    let result: O;
    try {
      result = transform.expand(input, { primitive: (spec) => this.makePrimitive(node, spec) });
    } finally {
      this.stack.pop();
    }
    if (node.payload.kind === "composite") node.outputs = this.outputsOf(result);
    return result;
  }

  /** @internal */
  setCoder(pcollectionId: string, coder: Coder<unknown>): void {
    const node = this.pcollections[pcollectionId];
    if (node === undefined) throw new PipelineConstructionError(`unknown PCollection ${pcollectionId}`);
    this.pcollections[pcollectionId] = { ...node, coder };
  }

  private makePrimitive(node: MutableNode, spec: PrimitiveSpec): Record<string, PCollection<unknown>> {
    if (node.payload.kind !== "composite" || node.subtransforms.length > 0) {
      throw new PipelineConstructionError(`${node.id}: a transform is either one primitive or a composite of others`);
    }
    node.payload = spec.payload;
    node.inputs = {};
    for (const [local, pc] of Object.entries(spec.inputs)) {
      if (pc.pipeline !== this)
        throw new PipelineConstructionError(`${node.id}: input ${local} belongs to another pipeline`);
      node.inputs[local] = pc.id;
    }
    const inputNodes = Object.values(node.inputs).map((id) => this.pcollections[id]!);
    const windowFn = spec.windowFn ?? inputNodes[0]?.windowFn ?? GLOBAL_WINDOW_FN;
    const trigger = spec.trigger ?? inputNodes[0]?.trigger ?? DEFAULT_TRIGGER;
    const isBounded = spec.isBounded ?? inputNodes.every((pc) => pc.isBounded);
    const outputs: Record<string, PCollection<unknown>> = {};
    for (const local of spec.outputs) {
      const id = `${node.id}.${local}`;
      this.pcollections[id] = { id, producer: node.id, windowFn, trigger, isBounded };
      node.outputs[local] = id;
      outputs[local] = new PCollection(this, id);
    }
    return outputs;
  }

  private uniqueName(name: string): string {
    if (this.transforms[name] === undefined) return name;
    for (let i = 2; ; i++) if (this.transforms[`${name}_${i}`] === undefined) return `${name}_${i}`;
  }

  private inputsOf(input: unknown): Record<string, string> {
    if (input instanceof PBegin) return {};
    if (input instanceof PCollection) return { input: input.id };
    const out: Record<string, string> = {};
    if (input !== null && typeof input === "object") {
      for (const [k, v] of Object.entries(input)) if (v instanceof PCollection) out[k] = v.id;
    }
    return out;
  }

  private outputsOf(result: unknown): Record<string, string> {
    if (result instanceof PCollection) return { output: result.id };
    return this.inputsOf(result);
  }
}
