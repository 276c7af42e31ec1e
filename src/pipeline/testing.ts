// assertThat: checks a PCollection's whole contents inside the pipeline, so any runner can run it. The values are
// re-windowed into the global window and grouped together with one marker element, so the check runs exactly
// once even for an empty PCollection; a mismatch throws from that DoFn and fails the pipeline with the message.
import type { DoFn, KV } from "../sdf/index.js";
import { type PCollection, PTransform } from "./pipeline.js";
import { Create, Flatten, GlobalWindows, GroupByKey, Map, ParDo, WindowInto, kv } from "./transforms.js";
import { describeValue, structuralKey } from "./structural.js";

/**
 * A failed containsInAnyOrder or empty: the message names the assertion and lists missing and unexpected values.
 * Thrown inside the pipeline, so it fails the run and waitUntilFinish rejects with it.
 */
export class PipelineAssertionError extends Error {
  override readonly name = "PipelineAssertionError";
  readonly code = "PIPELINE_ASSERTION";
  readonly retriable = false;
}

type Entry<T> = { marker: true } | { marker: false; value: T };

class CheckDoFn<T> implements DoFn<KV<null, Entry<T>[]>, never> {
  constructor(
    private readonly label: string,
    private readonly check: (values: T[]) => void,
  ) {}

  process(group: KV<null, Entry<T>[]>): void {
    const values: T[] = [];
    for (const entry of group.value) if (!entry.marker) values.push(entry.value);
    try {
      this.check(values);
    } catch (err) {
      // Name the assertion: a pipeline can hold several, and the failure surfaces far from where it was declared.
      if (err instanceof Error && !err.message.startsWith(`${this.label}: `))
        err.message = `${this.label}: ${err.message}`;
      throw err;
    }
  }
}

class AssertTransform<T> extends PTransform<PCollection<T>, void> {
  constructor(
    label: string,
    private readonly check: (values: T[]) => void,
  ) {
    super(label);
  }

  expand(input: PCollection<T>): void {
    const values = input.apply("GlobalWindow", WindowInto<T>(GlobalWindows())).apply(
      "Tag",
      Map((value: T) => kv(null, { marker: false, value } as Entry<T>)),
    );
    const marker = input.pipeline.apply("Marker", Create.of([kv(null, { marker: true } as Entry<T>)]));
    input.pipeline
      .apply("Together", Flatten.of(values, marker))
      .apply("Group", GroupByKey<null, Entry<T>>())
      .apply("Check", ParDo.of(new CheckDoFn(this.label, this.check)));
  }
}

/**
 * The checks assertThat offers. Each call adds one check to the pipeline (so call before run); it sees all values of
 * the PCollection, over all windows, once the input is complete. A failed check fails the pipeline.
 */
export interface PAssert<T> {
  /** The PCollection holds exactly these values, in any order (multiset equality, structural). */
  containsInAnyOrder(expected: Iterable<T>): void;
  /** The PCollection is empty. */
  empty(): void;
  /** `check` receives all values; throw (e.g. an uvu assertion) to fail the pipeline. */
  satisfies(check: (values: T[]) => void): void;
}

let assertions = 0;

/**
 * Asserts on a PCollection's whole contents inside the pipeline, so any runner can run it; the check runs once,
 * even for an empty PCollection. `label` names the check and prefixes its failure messages (default "assertThat",
 * then "assertThat_2", ...). Failures surface from handle.waitUntilFinish().
 */
export function assertThat<T>(pcollection: PCollection<T>, label?: string): PAssert<T> {
  const name = label ?? `assertThat${++assertions === 1 ? "" : `_${assertions}`}`;
  const apply = (check: (values: T[]) => void): void => {
    pcollection.apply(name, new AssertTransform<T>(name, check));
  };
  return {
    containsInAnyOrder(expected) {
      const want = [...expected];
      apply((actual) => compareMultisets(name, want, actual));
    },
    empty() {
      apply((actual) => compareMultisets(name, [], actual));
    },
    satisfies(check) {
      apply(check);
    },
  };
}

function compareMultisets<T>(name: string, expected: T[], actual: T[]): void {
  const counts = new globalThis.Map<string, { value: T; n: number }>();
  for (const v of expected) {
    const key = structuralKey(v);
    const entry = counts.get(key);
    if (entry) entry.n++;
    else counts.set(key, { value: v, n: 1 });
  }
  const unexpected: T[] = [];
  for (const v of actual) {
    const entry = counts.get(structuralKey(v));
    if (entry && entry.n > 0) entry.n--;
    else unexpected.push(v);
  }
  const missing: T[] = [];
  for (const { value, n } of counts.values()) for (let i = 0; i < n; i++) missing.push(value);
  if (missing.length > 0 || unexpected.length > 0) {
    throw new PipelineAssertionError(
      `${name}: expected ${expected.length} element(s) in any order, got ${actual.length}` +
        (missing.length ? `; missing: ${missing.map(describeValue).join(", ")}` : "") +
        (unexpected.length ? `; unexpected: ${unexpected.map(describeValue).join(", ")}` : ""),
    );
  }
}
