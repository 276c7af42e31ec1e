// The transform registry: URN → payload fields → expander. Built from an explicit list of definitions, so a test
// (or an operator) serves exactly the transforms it passes in.
import type { runnerApi } from "../model/proto/index.js";
import type { ExpansionBuilder } from "./components.js";
import type { ConfigValues, FieldSpec } from "./payload.js";
import { ExpansionError } from "./errors.js";
import type { SecretsPolicy } from "./secrets.js";

/**
 * What an expander builds with: the builder that collects its components under the request's namespace, and the
 * caller's inputs. A transform without inputs must not read `requestComponents`: the service encodes its response
 * once and reuses it for other requests, and reading it there throws.
 */
export interface ExpansionContext {
  readonly builder: ExpansionBuilder;
  /** The caller's input PCollections by tag. */
  readonly inputs: Readonly<Record<string, string>>;
  /** The unique name the caller gave the transform. */
  readonly uniqueName: string;
  readonly requestComponents: runnerApi.IComponents;
  /** What happens to literal secrets in configs that go into payloads (default: passed as given). */
  readonly secrets?: SecretsPolicy;
}

/** What an expander returns: its output PCollection ids by tag, and the transforms it added (the subtransforms). */
export interface ExpansionResult {
  readonly outputs: Readonly<Record<string, string>>;
  /** Ids of the leaf transforms added to the builder. */
  readonly subtransforms: readonly string[];
}

/**
 * One transform by URN. Expansion runs in two steps: `prepare` checks the payload's values and turns them into what
 * `expand` needs (a read or write spec); it must be a pure function of the values, because the service reuses its
 * result for requests with the same URN and payload bytes. `expand` builds the graph under the request's namespace.
 */
export interface TransformDefinition<Prepared = ConfigValues> {
  readonly name: string;
  readonly urns: readonly string[];
  /** The payload's fields, as served on /transforms and checked on every request. */
  readonly fields: readonly FieldSpec[];
  /** Default: the values as they are. */
  prepare?(values: ConfigValues): Prepared;
  expand(prepared: Prepared, ctx: ExpansionContext): ExpansionResult;
}

/**
 * The URN-addressed transforms a service serves, exactly those given. The constructor throws when two definitions
 * claim one URN; `lookup` throws an UNIMPLEMENTED ExpansionError, listing the known URNs, for any other URN.
 */
export class TransformRegistry {
  private readonly byUrn = new Map<string, TransformDefinition<unknown>>();

  constructor(readonly definitions: readonly TransformDefinition<unknown>[]) {
    for (const definition of definitions) {
      for (const urn of definition.urns) {
        if (this.byUrn.has(urn)) throw new Error(`TransformRegistry: ${urn} is registered twice`);
        this.byUrn.set(urn, definition);
      }
    }
  }

  get urns(): string[] {
    return [...this.byUrn.keys()].sort();
  }

  lookup(urn: string): TransformDefinition<unknown> {
    const definition = this.byUrn.get(urn);
    if (!definition) {
      throw new ExpansionError(
        "UNIMPLEMENTED",
        `no transform registered for URN ${JSON.stringify(urn)}; known: ${this.urns.join(", ")}`,
        "transform.spec.urn",
      );
    }
    return definition;
  }
}
