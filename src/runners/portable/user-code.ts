// Shipping a TypeScript pipeline's own DoFns (Map functions, DoFn classes) to the workers a portable runner starts.
// Nothing is serialized: the pipeline is built by an exported function of a module, and a worker imports that same
// module and builds the pipeline again, then takes the DoFn of the transform with the same name. The code must be
// the same on the workers (one machine: the same files; a cluster: the same image or bundle). The check at
// submission builds the pipeline a second time and refuses, naming them, DoFns the module would not rebuild.
import { fileURLToPath, pathToFileURL } from "node:url";
import { isAbsolute, resolve } from "node:path";
import { KBT_DOFN_URN } from "../../model/kbt-urns.js";
import { decodeDoFnPayload, type DoFnPayload } from "../../model/dofn-payload.js";
import { runnerApi, urns, type fnApi } from "../../model/proto/index.js";
import type { AnyDoFn, AnySplittableDoFn } from "../../sdf/index.js";
import { Pipeline, PipelineTranslationError, type TransformNode } from "../../pipeline/index.js";

/** The `fn` of a user DoFn's payload: {fn, module, export, transform}. */
export const USER_DOFN_FN = "kbt_user";

/**
 * A function that builds the pipeline's transforms on the pipeline it is given, synchronously, from `args` (the
 * PipelineModule's, JSON: the worker gets the same).
 */
export type PipelineBuilder = (pipeline: Pipeline, args: unknown) => void;

/** The module whose export builds the pipeline: what workers import to rebuild the pipeline's own DoFns. */
export interface PipelineModule {
  /** The module, as `import.meta.url` of its file or an absolute path. */
  readonly url: string;
  /** The name of the export that builds the pipeline (a PipelineBuilder). Default "default". */
  readonly export?: string;
  /**
   * What the builder is called with, here and on every worker (JSON: it travels in the DoFns' payloads, which
   * runners store; keep secrets out, as in any pipeline option).
   */
  readonly args?: unknown;
}

/**
 * True in the program Node was started with (`node dist/my-pipeline.js`), false where the module is imported (a
 * worker rebuilding the pipeline): guard the code that submits the pipeline with it.
 */
export function isMainModule(importMetaUrl: string): boolean {
  const main = process.argv[1];
  return main !== undefined && resolve(main) === fileURLToPath(importMetaUrl);
}

function moduleUrl(url: string): string {
  return isAbsolute(url) ? pathToFileURL(url).href : url;
}

async function importBuilder(module: PipelineModule): Promise<PipelineBuilder> {
  const url = moduleUrl(module.url);
  const name = module.export ?? "default";
  const loaded = (await import(url)) as Record<string, unknown>;
  const builder = loaded[name];
  if (typeof builder !== "function") {
    throw new PipelineTranslationError(
      `pipelineModule ${url} has no function export ${JSON.stringify(name)} to build the pipeline`,
    );
  }
  return builder as PipelineBuilder;
}

function build(builder: PipelineBuilder, args: unknown, where: string): Pipeline {
  const pipeline = Pipeline.create();
  const result = builder(pipeline, args) as unknown;
  if (result instanceof Promise) {
    result.catch(() => undefined);
    throw new PipelineTranslationError(`${where} returned a Promise: a pipeline builder must build synchronously`);
  }
  return pipeline;
}

function userDoFnOf(pipeline: Pipeline, transform: string): AnyDoFn | AnySplittableDoFn | undefined {
  const node = pipeline.graph.transforms[transform];
  return node?.payload.kind === "pardo" ? node.payload.dofn : undefined;
}

/**
 * For a pipeline about to be submitted: the shipDoFn callback of pipelineToRunnerApi. Every ParDo without a payload
 * of its own must be rebuilt by `module`: checked here by building the pipeline again, so that a DoFn that cannot be
 * shipped is an error at submission (naming it and why), never on a worker.
 */
export async function userDoFnShipping(
  pipeline: Pipeline,
  module: PipelineModule | undefined,
): Promise<(node: TransformNode) => DoFnPayload | undefined> {
  const unshippable = Object.values(pipeline.graph.transforms).filter(
    (node) => node.payload.kind === "pardo" && typeof node.payload.dofn.doFnPayload !== "function",
  );
  if (unshippable.length === 0) return () => undefined;
  const names = unshippable.map((n) => n.id).join(", ");
  if (!module) {
    throw new PipelineTranslationError(
      `the pipeline's own DoFns (${names}) must be rebuilt on the workers: give the runner pipelineModule, the module ` +
        'whose export builds the pipeline (README, "Portable runners")',
    );
  }
  const url = moduleUrl(module.url);
  const exportName = module.export ?? "default";
  const args = module.args === undefined ? null : (JSON.parse(JSON.stringify(module.args)) as unknown);
  const rebuilt = build(await importBuilder(module), args, `${url}#${exportName}`);
  const missing = unshippable.filter((node) => userDoFnOf(rebuilt, node.id) === undefined).map((n) => n.id);
  if (missing.length > 0) {
    throw new PipelineTranslationError(
      `${url}#${exportName} does not rebuild these ParDos of the pipeline being run, so workers could not find their ` +
        `DoFns: ${missing.join(", ")}. Build the pipeline you run with that export (and the same labels)`,
    );
  }
  return (node) => ({ fn: USER_DOFN_FN, module: url, export: exportName, args, transform: node.id });
}

// ---- the worker's side -------------------------------------------------------------------------------------------

const builders = new Map<string, Promise<PipelineBuilder>>();
const loaded = new Map<string, PipelineBuilder>();

function key(module: string, exportName: string): string {
  return `${exportName}\u0000${module}`;
}

/** Transforms whose spec is a ParDoPayload: ParDo, and the steps a runner expands a splittable ParDo into. */
const PARDO_URNS: ReadonlySet<string> = new Set([
  urns.StandardPTransforms.Primitives.PAR_DO,
  ...Object.values(urns.StandardPTransforms.SplittableParDoComponents),
]);

/** The user DoFn payloads of a ProcessBundleDescriptor (ParDos whose DoFn is `kbt_user`). */
function userPayloads(descriptor: fnApi.IProcessBundleDescriptor): DoFnPayload[] {
  const out: DoFnPayload[] = [];
  for (const transform of Object.values(descriptor.transforms ?? {})) {
    if (!PARDO_URNS.has(transform.spec?.urn ?? "")) continue;
    let doFn: runnerApi.IFunctionSpec | null | undefined;
    try {
      doFn = runnerApi.ParDoPayload.decode(transform.spec?.payload ?? new Uint8Array()).doFn;
    } catch {
      continue; // not a ParDo payload: not ours to load
    }
    if (doFn?.urn !== KBT_DOFN_URN || !doFn.payload) continue;
    const payload = decodeDoFnPayload(doFn.payload);
    if (payload.fn === USER_DOFN_FN) out.push(payload);
  }
  return out;
}

/**
 * Before a worker translates a descriptor: imports the modules its user DoFns come from (once per module), so
 * that the factory can rebuild them synchronously.
 */
export async function loadUserModules(descriptor: fnApi.IProcessBundleDescriptor): Promise<void> {
  for (const payload of userPayloads(descriptor)) {
    const module = String(payload.module);
    const exportName = String(payload.export ?? "default");
    const k = key(module, exportName);
    if (loaded.has(k)) continue;
    let pending = builders.get(k);
    if (!pending) {
      pending = importBuilder({ url: module, export: exportName });
      pending.catch(() => builders.delete(k));
      builders.set(k, pending);
    }
    loaded.set(k, await pending);
  }
}

/** The worker's factory of user DoFns: builds the pipeline afresh (new DoFn instances) and takes the transform's. */
export const userDoFnFactories: Readonly<Record<string, (payload: DoFnPayload) => AnyDoFn | AnySplittableDoFn>> =
  Object.freeze({
    [USER_DOFN_FN]: (payload: DoFnPayload) => {
      const module = String(payload.module);
      const exportName = String(payload.export ?? "default");
      const transform = String(payload.transform);
      const builder = loaded.get(key(module, exportName));
      if (!builder) throw new PipelineTranslationError(`${module} was not loaded before its DoFns were asked for`);
      const dofn = userDoFnOf(build(builder, payload.args ?? null, `${module}#${exportName}`), transform);
      if (!dofn)
        throw new PipelineTranslationError(`${module}#${exportName} no longer builds a ParDo named ${transform}`);
      return dofn;
    },
  });
