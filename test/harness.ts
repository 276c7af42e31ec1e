// Our guard around uvu: a timeout for every test and hook, hook errors that fail tests instead of vanishing,
// and a result line per test for test/runner.ts. uvu alone swallows `before` errors and has no timeouts.
import { suite as uvuSuite } from "uvu";
import { appendFileSync } from "node:fs";

type Fn = () => unknown | Promise<unknown>;

export interface SuiteOptions {
  /** Per test and per hook, in ms. Default 30 s (KBT_TEST_TIMEOUT_SCALE multiplies it). */
  readonly timeoutMs?: number;
}

export interface Suite {
  test(name: string, fn: Fn): void;
  only(name: string, fn: Fn): void;
  skip(name: string, fn?: Fn): void;
  before(fn: Fn): void;
  after(fn: Fn): void;
  beforeEach(fn: Fn): void;
  afterEach(fn: Fn): void;
  run(): void;
}

const resultFile = process.env.KBT_RESULT_FILE;
const scale = Number(process.env.KBT_TEST_TIMEOUT_SCALE ?? "1") || 1;
let openSuites = 0;

function record(entry: Record<string, unknown>): void {
  if (resultFile) appendFileSync(resultFile, `${JSON.stringify(entry)}\n`);
}

export class TimeoutError extends Error {
  override readonly name = "TimeoutError";
}

/** Runs fn, rejecting with a TimeoutError naming `what` after `ms`. */
export async function withTimeout<T>(what: string, ms: number, fn: () => T | Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what}: timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([Promise.resolve().then(fn), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}

export function suite(name: string, options: SuiteOptions = {}): Suite {
  const inner = uvuSuite(name);
  const timeoutMs = (options.timeoutMs ?? 30_000) * scale;
  let hookError: unknown;

  const guardHook = (kind: string, fn: Fn) => async (): Promise<void> => {
    try {
      await withTimeout(`${name} ${kind} hook`, timeoutMs, fn);
    } catch (err) {
      hookError ??= err;
      if (kind === "after") {
        // No test is left to carry it: record the hook as a failed test of its own.
        record({ type: "registered", suite: name, test: `${kind} hook` });
        record({ type: "result", suite: name, test: `${kind} hook`, ok: false, error: describe(err) });
        process.exitCode = 1;
        console.error(`✘ ${name} ${kind} hook failed:\n${describe(err)}`);
      }
    }
  };

  const register = (testName: string, fn: Fn, add: (n: string, f: () => Promise<void>) => void) => {
    record({ type: "registered", suite: name, test: testName });
    add(testName, async (): Promise<void> => {
      try {
        if (hookError !== undefined) throw new Error(`a hook of suite "${name}" failed: ${describe(hookError)}`);
        await withTimeout(`${name} › ${testName}`, timeoutMs, fn);
        record({ type: "result", suite: name, test: testName, ok: true });
      } catch (err) {
        record({ type: "result", suite: name, test: testName, ok: false, error: describe(err) });
        throw err;
      }
    });
  };

  return {
    test: (n, fn) => register(n, fn, (a, b) => inner(a, b)),
    only: (n, fn) => register(n, fn, (a, b) => inner.only(a, b)),
    skip: (n) => {
      record({ type: "skipped", suite: name, test: n });
      inner.skip(n);
    },
    before: (fn) => inner.before(guardHook("before", fn)),
    after: (fn) => inner.after(guardHook("after", fn)),
    beforeEach: (fn) => inner.before.each(guardHook("beforeEach", fn)),
    afterEach: (fn) => inner.after.each(guardHook("afterEach", fn)),
    run: () => {
      openSuites++;
      inner.after(() => {
        if (--openSuites === 0) lingerGuard();
      });
      inner.run();
    },
  };
}

// Once every suite has finished, a process kept alive by a leaked socket or child would hang CI: name it and exit.
function lingerGuard(): void {
  setTimeout(() => {
    const message = "process still alive 5 s after its last suite: something a test started was not stopped";
    record({ type: "registered", suite: "process", test: "exits after its tests" });
    record({ type: "result", suite: "process", test: "exits after its tests", ok: false, error: message });
    console.error(`✘ ${message}`);
    process.exit(1);
  }, 5_000).unref();
}
