import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { suite } from "../harness.js";
import { repoRoot } from "../infra/paths.js";
import { beamProtoDescriptorJson } from "../../src/model/proto/generated/descriptor.js";
import { protoRoot } from "../../src/model/proto/index.js";

// The generated TypeScript is checked in (so `tsc -p .` works on a fresh checkout without running pbjs); this
// suite fails when it no longer matches proto/ or was edited by hand. Fix: `npm run gen:proto`.
const s = suite("proto: generated code is current");
const root = repoRoot();

interface GenProto {
  descriptorJson(): string;
  sha256(text: string): string;
  RUNTIME_IMPORT: string;
}
const loadGen = async (): Promise<GenProto> =>
  (await import(pathToFileURL(join(root, "scripts/gen-proto.mjs")).href)) as GenProto;

s.test("generated/descriptor.ts equals proto/ parsed now", async () => {
  const gen = await loadGen();
  assert.ok(gen.descriptorJson() === beamProtoDescriptorJson, "proto/ changed since the last `npm run gen:proto`");
});

s.test("generated/beam.ts was made from that descriptor and not edited since", async () => {
  const gen = await loadGen();
  const text = readFileSync(join(root, "src/model/proto/generated/beam.ts"), "utf8");
  const descriptorHash = /^\/\/ descriptor-sha256: ([0-9a-f]{64})$/m.exec(text)?.[1];
  const bodyHash = /^\/\/ body-sha256: ([0-9a-f]{64})$/m.exec(text)?.[1];
  assert.is(
    descriptorHash,
    gen.sha256(beamProtoDescriptorJson),
    "beam.ts is older than descriptor.ts: run `npm run gen:proto`",
  );
  const at = text.indexOf(`${gen.RUNTIME_IMPORT}\n`);
  assert.ok(at > 0, "beam.ts lost its runtime import line");
  assert.is(gen.sha256(text.slice(at + gen.RUNTIME_IMPORT.length + 1)), bodyHash, "beam.ts was edited by hand");
});

s.test("every message type of the runtime root has a constructor in the typed tree", async () => {
  const { runnerApi, fnApi, expansionApi, jobApi, protobufWkt } = await import("../../src/model/proto/index.js");
  const groups: Record<string, unknown> = {
    "org.apache.beam.model.pipeline.v1": runnerApi,
    "org.apache.beam.model.fn_execution.v1": fnApi,
    "org.apache.beam.model.expansion.v1": expansionApi,
    "org.apache.beam.model.job_management.v1": jobApi,
    "google.protobuf": protobufWkt,
  };
  let count = 0;
  const visit = (ns: { nestedArray: unknown[]; fullName: string }): void => {
    for (const child of ns.nestedArray as {
      fullName: string;
      nestedArray?: unknown[];
      constructor: { name: string };
    }[]) {
      const full = child.fullName.slice(1);
      const pkg = Object.keys(groups).find((p) => full.startsWith(`${p}.`));
      const kind = child.constructor.name;
      if (pkg && (kind === "Type" || kind === "Enum")) {
        let at: unknown = groups[pkg];
        for (const part of full.slice(pkg.length + 1).split("."))
          at = (at as Record<string, unknown> | undefined)?.[part];
        assert.ok(at, `${full} missing from the typed tree`);
        if (kind === "Type") assert.type((at as { decode: unknown }).decode, "function", full);
        count++;
      }
      if (child.nestedArray && kind !== "Service")
        visit(child as unknown as { nestedArray: unknown[]; fullName: string });
    }
  };
  visit(protoRoot as unknown as { nestedArray: unknown[]; fullName: string });
  assert.ok(count > 250, `only ${count} types walked`);
});

s.run();
