// Fusion: cuts the pipeline graph into stages the bundle processor runs. A stage starts at a materialized
// PCollection — the output of an Impulse or a GroupByKey, or the sized-restriction input of a splittable DoFn
// (so residuals re-enter exactly there, as on a portable runner) — and takes in every transform reachable
// from it, up to GroupByKeys and SDF inputs, which become sinks. A Flatten whose inputs come from several stages
// is placed in each of them (with the inputs that stage produces).
import { primitiveTransforms, type PipelineGraph, type TransformNode } from "../../pipeline/index.js";
import type { BundleDescriptor, TransformSpec } from "../bundle/index.js";
import { DEFAULT_TRIGGER, type Trigger } from "../../sdf/index.js";
import { urns } from "../../model/proto/index.js";

export const SOURCE_ID = "source";

/** Where a stage's sink sends its elements: to the stage rooted at a splittable DoFn's input, or to a GroupByKey. */
export type SinkTarget =
  | { readonly kind: "stage"; readonly rootPc: string }
  | { readonly kind: "gbk"; readonly gbkId: string };

/** One fused stage: the transforms a bundle runs, from the stage's root PCollection to its sinks. */
export interface StagePlan {
  /** "stage-1", "stage-2", ... */
  readonly id: string;
  /** The PCollection its bundles read: an Impulse or GroupByKey output, or an SDF's sized-restriction input. */
  readonly rootPc: string;
  /** What the bundle processor runs: a "source" reading rootPc, the stage's transforms, and one sink per exit. */
  readonly descriptor: BundleDescriptor;
  /** Sink transform id -> where its elements go. */
  readonly sinks: Readonly<Record<string, readonly SinkTarget[]>>;
  /** PCollections produced inside the stage (their watermark is the stage's output watermark). */
  readonly producedPcs: readonly string[];
  /** Transform ids executed by this stage, for metrics. */
  readonly steps: readonly string[];
}

/** A GroupByKey the runner does: its input and output PCollection ids, and when it emits (its input's trigger). */
export interface GbkPlan {
  readonly id: string;
  readonly inputPc: string;
  readonly outputPc: string;
  readonly trigger: Trigger;
}

/** A pipeline cut into stages, plus the GroupByKeys and Impulses the runner performs itself between them. */
export interface ExecutionPlan {
  readonly stages: readonly StagePlan[];
  /** GroupByKeys (by transform id), grouped by the runner. */
  readonly gbks: readonly GbkPlan[];
  /** Impulses (by transform id): the runner feeds their one element to the stage rooted at outputPc. */
  readonly impulses: readonly { readonly id: string; readonly outputPc: string }[];
}

type ExecKind = TransformSpec["kind"] | "impulse" | "group-by-key";

interface ExecNode {
  readonly id: string;
  readonly kind: ExecKind;
  readonly inputs: Readonly<Record<string, string>>;
  readonly outputs: Readonly<Record<string, string>>;
  readonly spec?: TransformSpec;
}

/** Expands each splittable ParDo into Beam's three SDF steps (pair, split-and-size, process). */
/**
 * Composites this runner replaces: a Redistribute or Reshuffle only moves data between workers, and here there is one
 * process, so its output is its input (as Prism does).
 */
const REPLACED_COMPOSITES: ReadonlySet<string> = new Set([
  urns.StandardPTransforms.Composites.REDISTRIBUTE_ARBITRARILY,
  urns.StandardPTransforms.Composites.REDISTRIBUTE_BY_KEY,
  urns.StandardPTransforms.Composites.RESHUFFLE,
]);

function execNodes(graph: PipelineGraph): ExecNode[] {
  const nodes: ExecNode[] = [];
  for (const t of primitiveTransforms(graph, REPLACED_COMPOSITES)) nodes.push(...expand(t));
  return nodes;
}

function expand(t: TransformNode): ExecNode[] {
  const p = t.payload;
  switch (p.kind) {
    case "composite": // a replaced one: passes its input through, a Flatten of one
    case "flatten":
      return [
        {
          id: t.id,
          kind: "flatten",
          inputs: t.inputs,
          outputs: t.outputs,
          spec: { kind: "flatten", name: t.id, inputs: t.inputs, outputs: t.outputs },
        },
      ];
    case "impulse":
      return [{ id: t.id, kind: "impulse", inputs: t.inputs, outputs: t.outputs }];
    case "group-by-key":
      return [{ id: t.id, kind: "group-by-key", inputs: t.inputs, outputs: t.outputs }];
    case "window-into":
      return [
        {
          id: t.id,
          kind: "window-into",
          inputs: t.inputs,
          outputs: t.outputs,
          spec: { kind: "window-into", name: t.id, windowFn: p.windowFn, inputs: t.inputs, outputs: t.outputs },
        },
      ];
    case "pardo": {
      if (!p.splittable) {
        const spec: TransformSpec = {
          kind: "pardo",
          name: t.id,
          dofn: p.dofn as never,
          mainOutput: p.mainOutput,
          inputs: t.inputs,
          outputs: t.outputs,
        };
        return [{ id: t.id, kind: "pardo", inputs: t.inputs, outputs: t.outputs, spec }];
      }
      const dofn = p.dofn as never;
      const paired = `${t.id}/paired`;
      const sized = `${t.id}/sized`;
      const pairId = `${t.id}/PairWithRestriction`;
      const splitId = `${t.id}/SplitAndSizeRestrictions`;
      return [
        {
          id: pairId,
          kind: "sdf-pair-with-restriction",
          inputs: t.inputs,
          outputs: { out: paired },
          spec: { kind: "sdf-pair-with-restriction", name: pairId, dofn, inputs: t.inputs, outputs: { out: paired } },
        },
        {
          id: splitId,
          kind: "sdf-split-and-size-restrictions",
          inputs: { in: paired },
          outputs: { out: sized },
          spec: {
            kind: "sdf-split-and-size-restrictions",
            name: splitId,
            dofn,
            inputs: { in: paired },
            outputs: { out: sized },
          },
        },
        {
          id: t.id,
          kind: "sdf-process-sized-element-and-restrictions",
          inputs: { in: sized },
          outputs: t.outputs,
          spec: {
            kind: "sdf-process-sized-element-and-restrictions",
            name: t.id,
            dofn,
            mainOutput: p.mainOutput,
            inputs: { in: sized },
            outputs: t.outputs,
          },
        },
      ];
    }
    default:
      throw new Error(`local runner: unsupported transform ${t.id} (${(p as { kind: string }).kind})`);
  }
}

/**
 * Fuses a pipeline graph into stages for the local runner, expanding splittable ParDos into Beam's SDF steps. Only
 * reads the graph. Throws for a primitive kind the local runner does not support.
 */
export function planExecution(graph: PipelineGraph): ExecutionPlan {
  const nodes = execNodes(graph);
  const consumers = new Map<string, ExecNode[]>();
  for (const n of nodes) {
    for (const pc of Object.values(n.inputs)) {
      const list = consumers.get(pc) ?? [];
      if (!list.includes(n)) list.push(n);
      consumers.set(pc, list);
    }
  }
  const roots: string[] = [];
  const impulses: { id: string; outputPc: string }[] = [];
  const gbks: GbkPlan[] = [];
  for (const n of nodes) {
    if (n.kind === "impulse") {
      const pc = Object.values(n.outputs)[0]!;
      impulses.push({ id: n.id, outputPc: pc });
      roots.push(pc);
    } else if (n.kind === "group-by-key") {
      const outputPc = Object.values(n.outputs)[0]!;
      const inputPc = Object.values(n.inputs)[0]!;
      gbks.push({ id: n.id, inputPc, outputPc, trigger: graph.pcollections[inputPc]?.trigger ?? DEFAULT_TRIGGER });
      roots.push(outputPc);
    } else if (n.kind === "sdf-process-sized-element-and-restrictions") {
      roots.push(Object.values(n.inputs)[0]!);
    }
  }
  const stages = roots.map((rootPc, i) => planStage(`stage-${i + 1}`, rootPc, consumers));
  return { stages, gbks, impulses };
}

function planStage(id: string, rootPc: string, consumers: Map<string, ExecNode[]>): StagePlan {
  const included = new Map<string, ExecNode>();
  const produced = new Set<string>([rootPc]);
  const sinks = new Map<string, SinkTarget[]>();
  const queue = [rootPc];
  while (queue.length > 0) {
    const pc = queue.shift()!;
    for (const node of consumers.get(pc) ?? []) {
      const materialized =
        node.kind === "group-by-key" || (node.kind === "sdf-process-sized-element-and-restrictions" && pc !== rootPc);
      if (materialized) {
        const targets = sinks.get(pc) ?? [];
        targets.push(node.kind === "group-by-key" ? { kind: "gbk", gbkId: node.id } : { kind: "stage", rootPc: pc });
        sinks.set(pc, targets);
        continue;
      }
      if (node.kind === "impulse") continue;
      if (included.has(node.id)) continue;
      included.set(node.id, node);
      for (const out of Object.values(node.outputs)) {
        produced.add(out);
        queue.push(out);
      }
    }
  }
  const transforms: Record<string, TransformSpec> = {
    [SOURCE_ID]: { kind: "source", inputs: {}, outputs: { out: rootPc } },
  };
  for (const node of included.values()) {
    const spec = node.spec!;
    if (spec.kind === "flatten") {
      // Only the inputs this stage produces: the other stages that feed the flatten carry their own copy.
      const inputs: Record<string, string> = {};
      for (const [local, pc] of Object.entries(spec.inputs)) if (produced.has(pc)) inputs[local] = pc;
      transforms[node.id] = { ...spec, inputs };
    } else {
      transforms[node.id] = spec;
    }
  }
  const sinkTargets: Record<string, SinkTarget[]> = {};
  for (const [pc, targets] of sinks) {
    const sinkId = `sink:${pc}`;
    transforms[sinkId] = { kind: "sink", inputs: { in: pc }, outputs: {} };
    sinkTargets[sinkId] = targets;
  }
  return {
    id,
    rootPc,
    descriptor: { transforms },
    sinks: sinkTargets,
    producedPcs: [...produced].filter((pc) => pc !== rootPc),
    steps: [...included.keys()],
  };
}
