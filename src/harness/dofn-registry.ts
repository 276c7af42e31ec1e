// Our DoFns by name: a ParDo whose do_fn is { urn: KBT_DOFN_URN, payload: {fn, ...} } is built by the factory
// registered for `fn`. Passed in explicitly, so a worker runs exactly the DoFns it was given.
import type { AnyDoFn, AnySplittableDoFn } from "../sdf/index.js";
import type { DoFnPayload } from "../model/dofn-payload.js";

/** A new instance per call: the worker builds one per concurrently running bundle (DoFns keep bundle state in fields). */
export type DoFnFactory = (payload: DoFnPayload) => AnyDoFn | AnySplittableDoFn;
/**
 * DoFn factories by the `fn` name of a KBT_DOFN_URN payload. A worker runs only the DoFns in its registry (the Kafka
 * transforms need kafkaDoFnFactories); a descriptor naming another fails with DescriptorError.
 */
export type DoFnRegistry = Readonly<Record<string, DoFnFactory>>;
