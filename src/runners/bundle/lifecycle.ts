// setup/teardown once per DoFn instance, however many processors share it (the local runner may place one
// transform in several fused stages): a reference count per instance.
import type { Awaitable, DoFnLifecycle } from "../../sdf/index.js";

const users = new WeakMap<object, number>();

export async function acquireDoFn(dofn: DoFnLifecycle<unknown>): Promise<void> {
  const count = users.get(dofn) ?? 0;
  users.set(dofn, count + 1);
  if (count === 0 && dofn.setup) {
    try {
      await dofn.setup();
    } catch (err) {
      users.set(dofn, (users.get(dofn) ?? 1) - 1);
      throw err;
    }
  }
}

export async function releaseDoFn(dofn: DoFnLifecycle<unknown>): Promise<void> {
  const count = users.get(dofn) ?? 0;
  if (count <= 0) return;
  users.set(dofn, count - 1);
  if (count === 1 && dofn.teardown) await (dofn.teardown() as Awaitable<void>);
}
