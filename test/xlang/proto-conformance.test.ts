// Wire compatibility of proto/ with the Beam release we pin: every message, field, enum value, service method and
// option string we define is checked against the descriptors compiled into apache_beam (Python), and a real Python
// Beam client talks to a @grpc/grpc-js server built from grpcServiceDefinition.
import * as assert from "uvu/assert";
import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { suite } from "../harness.js";
import { repoRoot } from "../infra/paths.js";
import {
  type expansionApi,
  externalTransforms,
  schemaApi,
  grpcServiceDefinition,
  toBigInt,
  fromBigInt,
  urns,
  beamConstants,
  monitoringInfoSpecs,
  monitoringInfoLabels,
} from "../../src/model/proto/index.js";

const run = promisify(execFile);
const s = suite("proto conformance with apache_beam", { timeoutMs: 120_000 });

interface BeamField {
  name: string;
  number: number;
  type: string;
  typeName: string | null;
  repeated: boolean;
  oneof: string | null;
  proto3Optional: boolean;
  map: { key: string; value: string; valueTypeName: string | null } | null;
}
interface BeamEnumValueOptions {
  urn?: string;
  constant?: string;
  spec?: { urn: string; type: string; requiredLabels: string[] };
  label?: string;
}
interface BeamDescriptors {
  messages: Record<string, { fields: BeamField[] }>;
  enums: Record<string, { values: Record<string, number>; options: Record<string, BeamEnumValueOptions> }>;
  services: Record<
    string,
    Record<string, { input: string; output: string; clientStreaming: boolean; serverStreaming: boolean }>
  >;
}

// Beam's descriptors, as the Python SDK compiled them (the same files Beam's Java and Go SDKs are generated from).
const DUMP_DESCRIPTORS = `
import importlib, json, sys
from google.protobuf import descriptor_pb2 as dp
from apache_beam.portability.api.org.apache.beam.model.pipeline.v1 import beam_runner_api_pb2 as rapi, metrics_pb2 as mapi
B = "apache_beam.portability.api.org.apache.beam.model."
mods = [B + m for m in ["pipeline.v1.beam_runner_api_pb2", "pipeline.v1.schema_pb2", "pipeline.v1.endpoints_pb2",
  "pipeline.v1.external_transforms_pb2", "pipeline.v1.metrics_pb2", "pipeline.v1.standard_window_fns_pb2",
  "fn_execution.v1.beam_fn_api_pb2", "fn_execution.v1.beam_provision_api_pb2", "job_management.v1.beam_expansion_api_pb2",
  "job_management.v1.beam_job_api_pb2", "job_management.v1.beam_artifact_api_pb2"]]
mods += ["google.protobuf.struct_pb2", "google.protobuf.timestamp_pb2", "google.protobuf.duration_pb2"]
T = dp.FieldDescriptorProto
tname = lambda t: T.Type.Name(t)[len("TYPE_"):].lower()
out = {"messages": {}, "enums": {}, "services": {}}
def enum(prefix, e):
    opts = {}
    for v in e.value:
        o = {}
        if v.options.HasExtension(rapi.beam_urn): o["urn"] = v.options.Extensions[rapi.beam_urn]
        if v.options.HasExtension(rapi.beam_constant): o["constant"] = v.options.Extensions[rapi.beam_constant]
        if v.options.HasExtension(mapi.monitoring_info_spec):
            sp = v.options.Extensions[mapi.monitoring_info_spec]
            o["spec"] = {"urn": sp.urn, "type": sp.type, "requiredLabels": list(sp.required_labels)}
        if v.options.HasExtension(mapi.label_props): o["label"] = v.options.Extensions[mapi.label_props].name
        if o: opts[v.name] = o
    out["enums"][prefix + e.name] = {"values": {v.name: v.number for v in e.value}, "options": opts}
def message(prefix, m, entries):
    full = prefix + m.name
    for n in m.nested_type:
        if n.options.map_entry: entries[full + "." + n.name] = n
    for n in m.nested_type:
        if not n.options.map_entry: message(full + ".", n, entries)
    for e in m.enum_type: enum(full + ".", e)
    fields = []
    for f in m.field:
        real_oneof = f.HasField("oneof_index") and not f.proto3_optional
        entry = entries.get(f.type_name.lstrip(".")) if f.type == T.TYPE_MESSAGE else None
        mp = None
        if entry is not None:
            k, v = entry.field[0], entry.field[1]
            mp = {"key": tname(k.type), "value": tname(v.type), "valueTypeName": v.type_name.lstrip(".") or None}
        fields.append({"name": f.name, "number": f.number, "type": tname(f.type), "typeName": f.type_name.lstrip(".") or None,
            "repeated": f.label == T.LABEL_REPEATED, "oneof": m.oneof_decl[f.oneof_index].name if real_oneof else None,
            "proto3Optional": f.proto3_optional, "map": mp})
    out["messages"][full] = {"fields": fields}
for name in mods:
    fd = dp.FileDescriptorProto()
    importlib.import_module(name).DESCRIPTOR.CopyToProto(fd)
    for m in fd.message_type: message(fd.package + ".", m, {})
    for e in fd.enum_type: enum(fd.package + ".", e)
    for sv in fd.service:
        out["services"][fd.package + "." + sv.name] = {x.name: {"input": x.input_type.lstrip("."), "output": x.output_type.lstrip("."),
            "clientStreaming": x.client_streaming, "serverStreaming": x.server_streaming} for x in sv.method}
json.dump(out, sys.stdout)
`;

let beam: BeamDescriptors;
let ours: protobuf.Root;

s.before(async () => {
  const python = process.env.KBT_PYTHON;
  assert.ok(python, "KBT_PYTHON is set by test/runner.ts from scripts/setup-xlang.sh");
  const { stdout } = await run(python, ["-c", DUMP_DESCRIPTORS], { maxBuffer: 64 << 20 });
  beam = JSON.parse(stdout) as BeamDescriptors;
  // Our .proto text with the original (snake_case) names; the runtime uses the same parse with camelCase names
  // (test/unit/proto-generated.test.ts keeps the two in step).
  const protoDir = join(repoRoot(), "proto");
  ours = new protobuf.Root();
  ours.resolvePath = (_origin, target) => join(protoDir, target);
  const files = (await import("node:fs"))
    .readdirSync(protoDir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".proto"));
  ours.loadSync(files, { keepCase: true });
  ours.resolveAll();
});

function walk(ns: protobuf.NamespaceBase, visit: (o: protobuf.ReflectionObject) => void): void {
  for (const child of ns.nestedArray) {
    visit(child);
    if (child instanceof protobuf.Namespace) walk(child, visit);
  }
}
const nameOf = (o: protobuf.ReflectionObject) => o.fullName.slice(1);
const SCALARS = new Set([
  "double",
  "float",
  "int64",
  "uint64",
  "int32",
  "fixed64",
  "fixed32",
  "bool",
  "string",
  "bytes",
  "uint32",
  "sfixed32",
  "sfixed64",
  "sint32",
  "sint64",
]);

/** What Beam's descriptor would say about one of our fields. */
function describeOurs(f: protobuf.Field): Omit<BeamField, "name" | "number"> {
  const kindOf = (type: string, resolved: protobuf.ReflectionObject | null) =>
    SCALARS.has(type)
      ? { type, typeName: null }
      : { type: resolved instanceof protobuf.Enum ? "enum" : "message", typeName: nameOf(resolved!) };
  const proto3Optional = (f.options as Record<string, unknown> | undefined)?.proto3_optional === true;
  if (f instanceof protobuf.MapField) {
    const value = kindOf(f.type, f.resolvedType);
    return {
      type: "message",
      typeName: null,
      repeated: true,
      oneof: null,
      proto3Optional: false,
      map: { key: f.keyType, value: value.type, valueTypeName: value.typeName },
    };
  }
  return {
    ...kindOf(f.type, f.resolvedType),
    repeated: f.repeated,
    oneof: f.partOf && !proto3Optional ? f.partOf.name : null,
    proto3Optional,
    map: null,
  };
}

s.test("every message we define matches Beam's: field names, numbers, types, labels, oneofs; no field left out", () => {
  const problems: string[] = [];
  let messages = 0;
  walk(ours, (o) => {
    if (!(o instanceof protobuf.Type)) return;
    messages++;
    const theirs = beam.messages[nameOf(o)];
    if (!theirs) {
      problems.push(`${nameOf(o)}: not a Beam message`);
      return;
    }
    for (const f of o.fieldsArray) {
      const b = theirs.fields.find((x) => x.number === f.id);
      if (!b) {
        problems.push(`${nameOf(o)}.${f.name} = ${f.id}: Beam has no field ${f.id}`);
        continue;
      }
      const { name: bName, number: _n, ...bRest } = b;
      // protobufjs substitutes its own bundled google/protobuf types (camelCase names) for our proto/google files.
      const expectedName = nameOf(o).startsWith("google.protobuf.") ? protobuf.util.camelCase(bName) : bName;
      if (expectedName !== f.name) problems.push(`${nameOf(o)} field ${f.id}: ours ${f.name}, Beam ${bName}`);
      const mine = describeOurs(f);
      const theirsShape = b.map ? { ...bRest, typeName: null } : bRest;
      if (JSON.stringify(mine) !== JSON.stringify(theirsShape)) {
        problems.push(`${nameOf(o)}.${f.name}: ours ${JSON.stringify(mine)}, Beam ${JSON.stringify(theirsShape)}`);
      }
    }
    for (const b of theirs.fields) {
      if (!o.fieldsById[b.number]) problems.push(`${nameOf(o)}: Beam field ${b.name} = ${b.number} missing`);
    }
  });
  assert.equal(problems, []);
  assert.ok(messages > 200, `walked only ${messages} messages`);
});

s.test("every enum we define matches Beam's value for value", () => {
  const problems: string[] = [];
  walk(ours, (o) => {
    if (!(o instanceof protobuf.Enum)) return;
    const theirs = beam.enums[nameOf(o)];
    if (!theirs) {
      problems.push(`${nameOf(o)}: not a Beam enum`);
      return;
    }
    if (JSON.stringify(o.values) !== JSON.stringify(theirs.values)) {
      problems.push(`${nameOf(o)}: ours ${JSON.stringify(o.values)}, Beam ${JSON.stringify(theirs.values)}`);
    }
  });
  assert.equal(problems, []);
});

s.test("every service we define matches Beam's method for method", () => {
  const problems: string[] = [];
  walk(ours, (o) => {
    if (!(o instanceof protobuf.Service)) return;
    const theirs = beam.services[nameOf(o)];
    if (!theirs) {
      problems.push(`${nameOf(o)}: not a Beam service`);
      return;
    }
    const mine = Object.fromEntries(
      o.methodsArray.map((m) => {
        m.resolve();
        return [
          m.name,
          {
            input: nameOf(m.resolvedRequestType!),
            output: nameOf(m.resolvedResponseType!),
            clientStreaming: m.requestStream === true,
            serverStreaming: m.responseStream === true,
          },
        ];
      }),
    );
    if (JSON.stringify(mine) !== JSON.stringify(theirs))
      problems.push(`${nameOf(o)}: ours ${JSON.stringify(mine)}, Beam ${JSON.stringify(theirs)}`);
  });
  assert.equal(problems, []);
});

s.test(
  "urns, beamConstants, monitoringInfoSpecs and monitoringInfoLabels equal Beam's enum value options, all of them",
  () => {
    const problems: string[] = [];
    const lookup = (tree: unknown, path: string[]) =>
      path.reduce<unknown>((at, k) => (at as Record<string, unknown> | undefined)?.[k], tree);
    const seen = { urn: 0, constant: 0, spec: 0, label: 0 };
    walk(ours, (o) => {
      if (!(o instanceof protobuf.Enum)) return;
      const full = nameOf(o);
      const rel = full.replace(/^org\.apache\.beam\.model\.[a-z_]+\.v1\./, "").split(".");
      for (const [value, opts] of Object.entries(beam.enums[full]?.options ?? {})) {
        const check = (what: string, mine: unknown, theirs: unknown) => {
          if (JSON.stringify(mine) !== JSON.stringify(theirs))
            problems.push(`${full}.${value} ${what}: ours ${JSON.stringify(mine)}, Beam ${JSON.stringify(theirs)}`);
        };
        if (opts.urn !== undefined) {
          seen.urn++;
          check("beam_urn", lookup(urns, [...rel, value]), opts.urn);
        }
        if (opts.constant !== undefined) {
          seen.constant++;
          check("beam_constant", lookup(beamConstants, [...rel, value]), opts.constant);
        }
        if (opts.spec !== undefined) {
          seen.spec++;
          check("monitoring_info_spec", lookup(monitoringInfoSpecs, [value]), opts.spec);
        }
        if (opts.label !== undefined) {
          seen.label++;
          check("label_props", lookup(monitoringInfoLabels, [value]), opts.label);
        }
      }
    });
    // And nothing in the TS tables that Beam does not have.
    const count = (tree: unknown): number =>
      typeof tree === "string"
        ? 1
        : Object.values(tree as Record<string, unknown>).reduce<number>((n, v) => n + count(v), 0);
    check2("urns", count(urns), seen.urn);
    check2("beamConstants", count(beamConstants), seen.constant);
    check2("monitoringInfoSpecs", Object.keys(monitoringInfoSpecs).length, seen.spec);
    check2("monitoringInfoLabels", Object.keys(monitoringInfoLabels).length, seen.label);
    function check2(what: string, mine: number, theirs: number) {
      if (mine !== theirs)
        problems.push(`${what}: ${mine} entries in TS, ${theirs} options in Beam for the enums we define`);
    }
    assert.equal(problems, []);
    assert.is(urns.StandardCoders.Enum.ROW, "beam:coder:row:v1");
  },
);

// A Python Beam client (the generated stub Beam's external.py uses) against our server, both directions of the wire.
const PY_CLIENT = String.raw`
import json, sys, grpc
from apache_beam.portability.api.org.apache.beam.model.job_management.v1 import beam_expansion_api_pb2 as e, beam_expansion_api_pb2_grpc as eg
from apache_beam.portability.api.org.apache.beam.model.pipeline.v1 import beam_runner_api_pb2 as r, external_transforms_pb2 as x, schema_pb2 as s
stub = eg.ExpansionServiceStub(grpc.insecure_channel(sys.argv[1]))
cfg = x.ExternalConfigurationPayload(schema=s.Schema(id="cfg", fields=[s.Field(name="topics", type=s.FieldType(
    array_type=s.ArrayType(element_type=s.FieldType(atomic_type=s.STRING))))]), payload=b"\x01\x00\xff")
req = e.ExpansionRequest(namespace="ns1_", transform=r.PTransform(unique_name="Read", spec=r.FunctionSpec(
    urn="beam:transform:org.apache.beam:kafka_read_without_metadata:v1", payload=cfg.SerializeToString())))
req.components.windowing_strategies["ws"].allowed_lateness = -9223372036854775808
resp = stub.Expand(req)
disc = stub.DiscoverSchemaTransform(e.DiscoverSchemaTransformRequest())
out = {"error": resp.error, "name": resp.transform.unique_name, "requirements": list(resp.requirements),
  "lateness": str(resp.components.windowing_strategies["ns1_ws"].allowed_lateness),
  "discovered": {k: [f.name for f in v.config_schema.fields] for k, v in disc.schema_transform_configs.items()},
  "outputs": list(disc.schema_transform_configs["id"].output_pcollection_names)}
print(json.dumps(out))
`;

s.test("a Python Beam ExpansionServiceStub talks to our grpc-js ExpansionService", async () => {
  const received: expansionApi.ExpansionRequest[] = [];
  const server = new grpc.Server();
  server.addService(grpcServiceDefinition("org.apache.beam.model.expansion.v1.ExpansionService"), {
    Expand: (
      call: grpc.ServerUnaryCall<expansionApi.ExpansionRequest, unknown>,
      cb: grpc.sendUnaryData<expansionApi.IExpansionResponse>,
    ) => {
      received.push(call.request);
      const lateness = call.request.components!.windowingStrategies!.ws!.allowedLateness;
      cb(null, {
        transform: { uniqueName: `${call.request.transform!.uniqueName}/expanded` },
        requirements: ["beam:requirement:pardo:splittable_dofn:v1"],
        components: { windowingStrategies: { ns1_ws: { allowedLateness: fromBigInt(toBigInt(lateness) + 1n) } } },
        error: "",
      });
    },
    DiscoverSchemaTransform: (
      _call: unknown,
      cb: grpc.sendUnaryData<expansionApi.IDiscoverSchemaTransformResponse>,
    ) => {
      cb(null, {
        schemaTransformConfigs: {
          id: {
            configSchema: { fields: [{ name: "topic", type: { atomicType: schemaApi.AtomicType.STRING } }] },
            outputPcollectionNames: ["output"],
          },
        },
      });
    },
  });
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? rej(err) : res(p))),
  );
  try {
    const child = spawn(process.env.KBT_PYTHON!, ["-c", PY_CLIENT, `127.0.0.1:${port}`], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "",
      stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    const code = await new Promise<number | null>((res) => child.once("exit", res));
    assert.is(code, 0, stderr);
    const out = JSON.parse(stdout) as Record<string, unknown>;
    assert.equal(out, {
      error: "",
      name: "Read/expanded",
      requirements: ["beam:requirement:pardo:splittable_dofn:v1"],
      lateness: "-9223372036854775807",
      discovered: { id: ["topic"] },
      outputs: ["output"],
    });
    assert.is(received.length, 1);
    const req = received[0]!;
    assert.is(req.namespace, "ns1_");
    assert.is(toBigInt(req.components!.windowingStrategies!.ws!.allowedLateness), -9223372036854775808n);
    const cfg = externalTransforms.ExternalConfigurationPayload.decode(req.transform!.spec!.payload!);
    assert.is(cfg.schema!.fields![0]!.type!.arrayType!.elementType!.atomicType, schemaApi.AtomicType.STRING);
    assert.is(Buffer.from(cfg.payload).toString("hex"), "0100ff");
  } finally {
    server.forceShutdown();
  }
});

s.run();
