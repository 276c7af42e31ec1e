// Assertions on thrown errors, shared by the suites: run the code, fail unless it throws an error of the expected
// class, and hand that error back for the checks particular to each suite.
import * as assert from "uvu/assert";
import { CoderError } from "../src/model/coders/index.js";

/** Returns the error `fn` throws; fails the test (naming `expected`) if it returns or throws another kind. */
export function thrown<E extends Error>(
  fn: () => unknown,
  type: abstract new (...args: never[]) => E,
  expected: string,
): E {
  try {
    fn();
  } catch (err) {
    assert.instance(err, type, err instanceof Error ? err.message : String(err));
    return err as E;
  }
  assert.unreachable(`expected ${expected}`);
  throw new Error("unreachable"); // assert.unreachable throws; this line is for the type checker
}

/** Expects a CoderError with this code whose message mentions `messagePart`. */
export function throwsCoderError(fn: () => unknown, code: string, messagePart: string): void {
  const err = thrown(fn, CoderError, `a ${code} CoderError`);
  assert.is(err.code, code, err.message);
  assert.ok(err.message.includes(messagePart), `"${err.message}" should mention "${messagePart}"`);
}

/** What `promise` rejects with; fails the test if it resolves instead (e.g. a pipeline that should fail finished). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    const value = await promise;
    assert.unreachable(`expected a rejection, got ${String(value)}`);
  } catch (err) {
    if (err instanceof assert.Assertion) throw err;
    return err;
  }
  throw new Error("unreachable"); // assert.unreachable throws; this line is for the type checker
}
