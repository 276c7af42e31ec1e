// The runtime side of the generated types: a protobufjs reflection root built from the checked-in descriptor, and a
// plain object tree (`org`, `google`) shaped like pbjs static code: message constructors with static
// encode/decode/create/fromObject/toObject/verify, nested types as properties of their parent, enums as
// name→number objects that also map number→name. generated/beam.ts gives that tree its TypeScript types.
import protobuf from "protobufjs/light.js";
import { beamProtoDescriptorJson } from "./generated/descriptor.js";

/** The reflection root of every message, enum and service under proto/ (fully qualified lookups). */
export const protoRoot: protobuf.Root = protobuf.Root.fromJSON(
  JSON.parse(beamProtoDescriptorJson) as protobuf.INamespace,
);
protoRoot.resolveAll();

type Tree = Record<string, unknown>;

function enumObject(e: protobuf.Enum): Tree {
  const byId: Tree = {};
  for (const [name, id] of Object.entries(e.values)) byId[id] ??= name;
  const values = Object.create(byId) as Tree;
  for (const [name, id] of Object.entries(e.values)) values[name] = id;
  return values;
}

function fill(target: Tree, ns: protobuf.NamespaceBase): void {
  for (const child of ns.nestedArray) {
    if (child instanceof protobuf.Type) {
      const ctor = child.ctor as unknown as Tree;
      target[child.name] = ctor;
      fill(ctor, child);
    } else if (child instanceof protobuf.Enum) {
      target[child.name] = enumObject(child);
    } else if (child instanceof protobuf.Namespace && !(child instanceof protobuf.Service)) {
      const sub: Tree = {};
      target[child.name] = sub;
      fill(sub, child);
    }
  }
}

function buildTree(): { org: Tree; google: Tree } {
  const top: Tree = {};
  fill(top, protoRoot);
  return { org: top.org as Tree, google: top.google as Tree };
}

/** Consumed by generated/beam.ts only. */
export const runtimeRoot = buildTree();
