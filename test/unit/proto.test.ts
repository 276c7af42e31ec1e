import * as assert from "uvu/assert";
import * as grpc from "@grpc/grpc-js";
import { suite } from "../harness.js";
import {
  runnerApi,
  fnApi,
  expansionApi,
  jobApi,
  schemaApi,
  externalTransforms,
  protobufWkt,
  toBigInt,
  fromBigInt,
  grpcServiceDefinition,
  beamServiceNames,
  urns,
  type BeamServiceName,
} from "../../src/model/proto/index.js";

const s = suite("proto wire layer");

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
// Comparable plain form: int64 as decimal strings, bytes as hex, enums as numbers, unset fields left out.
const plain = (type: { toObject(m: never, o: object): object }, m: unknown) =>
  JSON.parse(JSON.stringify(type.toObject(m as never, { longs: String, enums: Number, bytes: String })));

/** decode(encode(m)) keeps every field, and encoding the decoded message gives the same bytes. */
// (Typed by decode's result: decoded messages are class instances, with the oneof case properties.)
function roundTrip<T>(
  type: {
    encode(m: never): { finish(): Uint8Array };
    decode(b: Uint8Array): T;
    toObject(m: never, o: object): object;
    fromObject(o: object): T;
  },
  message: object,
): T {
  const typed = type.fromObject(message);
  const bytes = type.encode(typed as never).finish();
  const decoded = type.decode(bytes);
  assert.equal(plain(type, decoded), plain(type, typed));
  assert.is(hex(type.encode(decoded as never).finish()), hex(bytes));
  return decoded;
}

s.test("field numbers: FunctionSpec{urn, payload} encodes as fields 1 and 3", () => {
  const bytes = runnerApi.FunctionSpec.encode({ urn: "a", payload: new Uint8Array([0xff]) }).finish();
  assert.is(hex(bytes), "0a0161" + "1a01ff");
});

s.test("Pipeline with components round-trips", () => {
  const docker = runnerApi.DockerPayload.encode({ containerImage: "kafka-beam-ts:dev" }).finish();
  const p = roundTrip(runnerApi.Pipeline, {
    components: {
      transforms: {
        ns_impulse: {
          uniqueName: "Read/Impulse",
          spec: { urn: urns.StandardPTransforms.Primitives.IMPULSE },
          outputs: { out: "ns_pc1" },
        },
        ns_read: {
          uniqueName: "Read/ReadFromKafka",
          spec: {
            urn: urns.StandardPTransforms.Primitives.PAR_DO,
            payload: runnerApi.ParDoPayload.encode({
              doFn: { urn: "beam:dofn:kafka_read:v1", payload: new Uint8Array([1, 2, 3]) },
              restrictionCoderId: "ns_c_restriction",
              requestsFinalization: true,
              sideInputs: {
                side: {
                  accessPattern: { urn: "beam:side_input:iterable:v1" },
                  viewFn: { urn: "v" },
                  windowMappingFn: { urn: "w" },
                },
              },
            }).finish(),
          },
          inputs: { in: "ns_pc1" },
          outputs: { out: "ns_pc2" },
          environmentId: "ns_env",
          annotations: { note: new Uint8Array([9]) },
          displayData: [{ urn: urns.StandardDisplayData.DisplayData.LABELLED, payload: new Uint8Array([7]) }],
        },
      },
      pcollections: {
        ns_pc1: {
          uniqueName: "pc1",
          coderId: "ns_bytes",
          isBounded: runnerApi.IsBounded.Enum.BOUNDED,
          windowingStrategyId: "ns_ws",
        },
        ns_pc2: {
          uniqueName: "pc2",
          coderId: "ns_kv",
          isBounded: runnerApi.IsBounded.Enum.UNBOUNDED,
          windowingStrategyId: "ns_ws",
        },
      },
      windowingStrategies: {
        ns_ws: {
          windowFn: { urn: "beam:window_fn:global_windows:v1" },
          mergeStatus: runnerApi.MergeStatus.Enum.NON_MERGING,
          windowCoderId: "ns_gw",
          trigger: { default: {} },
          accumulationMode: runnerApi.AccumulationMode.Enum.DISCARDING,
          outputTime: runnerApi.OutputTime.Enum.END_OF_WINDOW,
          closingBehavior: runnerApi.ClosingBehavior.Enum.EMIT_ALWAYS,
          allowedLateness: "0",
          onTimeBehavior: runnerApi.OnTimeBehavior.Enum.FIRE_IF_NONEMPTY,
          environmentId: "ns_env",
        },
      },
      coders: {
        ns_bytes: { spec: { urn: urns.StandardCoders.Enum.BYTES } },
        ns_kv: { spec: { urn: urns.StandardCoders.Enum.KV }, componentCoderIds: ["ns_bytes", "ns_bytes"] },
        ns_gw: { spec: { urn: urns.StandardCoders.Enum.GLOBAL_WINDOW } },
      },
      environments: {
        ns_env: {
          urn: urns.StandardEnvironments.Environments.DOCKER,
          payload: docker,
          capabilities: ["beam:coder:bytes:v1"],
          dependencies: [{ typeUrn: "beam:artifact:type:file:v1", roleUrn: "beam:artifact:role:staging_to:v1" }],
          resourceHints: { "beam:resources:min_ram_bytes:v1": new Uint8Array([1]) },
        },
      },
    },
    rootTransformIds: ["ns_impulse", "ns_read"],
    requirements: [urns.StandardRequirements.Enum.REQUIRES_SPLITTABLE_DOFN],
  });
  assert.is(p.components!.transforms!.ns_read!.spec!.urn, "beam:transform:pardo:v1");
  const parDo = runnerApi.ParDoPayload.decode(p.components!.transforms!.ns_read!.spec!.payload!);
  assert.is(parDo.requestsFinalization, true);
  assert.ok(Buffer.isBuffer(parDo.doFn!.payload), "bytes decode to Buffer");
  assert.is(hex(parDo.doFn!.payload!), "010203");
  assert.is(
    runnerApi.DockerPayload.decode(p.components!.environments!.ns_env!.payload!).containerImage,
    "kafka-beam-ts:dev",
  );
  assert.is(p.components!.pcollections!.ns_pc2!.isBounded, runnerApi.IsBounded.Enum.UNBOUNDED);
  assert.is(runnerApi.IsBounded.Enum[2], "BOUNDED", "enums map numbers back to names");
});

s.test("InstructionRequest with process_bundle_split round-trips; the oneof names its case", () => {
  const r = roundTrip(fnApi.InstructionRequest, {
    instructionId: "split-1",
    processBundleSplit: {
      instructionId: "bundle-7",
      desiredSplits: {
        "read-transform": {
          fractionOfRemainder: 0.5,
          allowedSplitPoints: ["0", "5", "9007199254740993"],
          estimatedInputElements: "12",
        },
      },
    },
  });
  assert.is(r.request, "processBundleSplit");
  assert.is(r.processBundle, null);
  const split = r.processBundleSplit!.desiredSplits!["read-transform"]!;
  assert.is(split.fractionOfRemainder, 0.5);
  assert.equal(
    split.allowedSplitPoints!.map((x) => toBigInt(x)),
    [0n, 5n, 9007199254740993n],
  );
  assert.is(toBigInt(split.estimatedInputElements), 12n);

  const resp = roundTrip(fnApi.InstructionResponse, {
    instructionId: "split-1",
    processBundleSplit: {
      primaryRoots: [
        {
          transformId: "t",
          inputId: "i",
          element: new Uint8Array([1]),
          outputWatermarks: { o: { seconds: "1", nanos: 2 } },
        },
      ],
      residualRoots: [
        {
          application: {
            transformId: "t",
            inputId: "i",
            element: new Uint8Array([2]),
            isBounded: runnerApi.IsBounded.Enum.UNBOUNDED,
          },
          requestedTimeDelay: { seconds: "1", nanos: 500_000_000 },
        },
      ],
      channelSplits: [{ transformId: "src", lastPrimaryElement: "3", firstResidualElement: "4" }],
    },
  });
  assert.is(resp.response, "processBundleSplit");
  assert.is(toBigInt(resp.processBundleSplit!.channelSplits![0]!.firstResidualElement), 4n);
});

s.test("InstructionRequest register / process_bundle / finalize cases", () => {
  const reg = roundTrip(fnApi.InstructionRequest, {
    instructionId: "r",
    register: {
      processBundleDescriptor: [
        { id: "d1", transforms: { t: { uniqueName: "t" } }, stateApiServiceDescriptor: { url: "localhost:1" } },
      ],
    },
  });
  assert.is(reg.request, "register");
  assert.is(reg.register!.processBundleDescriptor![0]!.stateApiServiceDescriptor!.url, "localhost:1");
  assert.is(
    roundTrip(fnApi.InstructionRequest, {
      instructionId: "p",
      processBundle: {
        processBundleDescriptorId: "d1",
        cacheTokens: [{ userState: {}, token: new Uint8Array([1]) }],
        elements: { data: [{ instructionId: "p", transformId: "t", data: new Uint8Array([5]) }] },
      },
    }).request,
    "processBundle",
  );
  assert.is(
    roundTrip(fnApi.InstructionRequest, { instructionId: "f", finalizeBundle: { instructionId: "p" } }).request,
    "finalizeBundle",
  );
  assert.is(
    roundTrip(fnApi.InstructionRequest, { instructionId: "m", monitoringInfos: { monitoringInfoId: ["1"] } }).request,
    "monitoringInfos",
  );
  assert.is(
    roundTrip(fnApi.InstructionRequest, { instructionId: "h", harnessMonitoringInfos: {} }).request,
    "harnessMonitoringInfos",
  );
  assert.is(
    roundTrip(fnApi.InstructionRequest, { instructionId: "g", processBundleProgress: { instructionId: "p" } }).request,
    "processBundleProgress",
  );
});

s.test("Elements with data and timers round-trips", () => {
  const e = roundTrip(fnApi.Elements, {
    data: [
      { instructionId: "1", transformId: "source", data: new Uint8Array([0, 1, 2, 255]) },
      { instructionId: "1", transformId: "source", isLast: true },
    ],
    timers: [
      { instructionId: "1", transformId: "pardo", timerFamilyId: "tf", timers: new Uint8Array([3]), isLast: true },
    ],
  });
  assert.is(hex(e.data![0]!.data!), "000102ff");
  assert.is(e.data![1]!.isLast, true);
  assert.is(e.timers![0]!.timerFamilyId, "tf");
});

s.test("StateRequest / LogEntry / ProvisionInfo / Job and Artifact messages round-trip", () => {
  const st = roundTrip(fnApi.StateRequest, {
    id: "s1",
    instructionId: "1",
    stateKey: {
      bagUserState: { transformId: "t", userStateId: "u", window: new Uint8Array([1]), key: new Uint8Array([2]) },
    },
    get: { continuationToken: new Uint8Array([4]) },
  });
  assert.is(st.request, "get");
  // Nested messages are typed by their interface (I*): the oneof case property is on the class, so narrow to it.
  assert.is((st.stateKey as fnApi.StateKey).type, "bagUserState");
  const log = roundTrip(fnApi.LogEntry.List, {
    logEntries: [
      {
        severity: fnApi.LogEntry.Severity.Enum.WARN,
        message: "m",
        timestamp: { seconds: "1700000000", nanos: 5 },
        instructionId: "1",
        transformId: "t",
        logLocation: "x.ts:1",
        thread: "main",
        customData: { fields: { k: { stringValue: "v" } } },
      },
    ],
  });
  assert.is(log.logEntries![0]!.customData!.fields!.k!.stringValue, "v");
  const prov = roundTrip(fnApi.GetProvisionInfoResponse, {
    info: {
      pipelineOptions: { fields: { runner: { stringValue: "x" } } },
      controlEndpoint: { url: "c" },
      loggingEndpoint: { url: "l" },
      artifactEndpoint: { url: "a" },
      retrievalToken: "t",
      dependencies: [{ typeUrn: "u" }],
      runnerCapabilities: ["r"],
      metadata: { k: "v" },
      siblingWorkerIds: ["w2"],
    },
  });
  assert.is(prov.info!.controlEndpoint!.url, "c");
  const state = roundTrip(jobApi.JobStateEvent, { state: jobApi.JobState.Enum.RUNNING, timestamp: { seconds: "3" } });
  assert.is(state.state, jobApi.JobState.Enum.RUNNING);
  assert.is(jobApi.JobState.Enum.DONE, 3);
  roundTrip(jobApi.GetArtifactResponse, { data: new Uint8Array([1, 2]) });
  roundTrip(fnApi.StartWorkerRequest, {
    workerId: "w",
    controlEndpoint: { url: "c" },
    provisionEndpoint: { url: "p" },
    params: { a: "b" },
  });
});

s.test("ExternalConfigurationPayload and ExpansionRequest/Response round-trip", () => {
  const cfg = roundTrip(externalTransforms.ExternalConfigurationPayload, {
    schema: {
      id: "s-1",
      fields: [
        { name: "topics", type: { arrayType: { elementType: { atomicType: schemaApi.AtomicType.STRING } } } },
        {
          name: "consumer_config",
          type: {
            mapType: {
              keyType: { atomicType: schemaApi.AtomicType.STRING },
              valueType: { atomicType: schemaApi.AtomicType.STRING },
            },
          },
        },
        { name: "max_num_records", type: { nullable: true, atomicType: schemaApi.AtomicType.INT64 } },
      ],
      encodingPositionsSet: true,
    },
    payload: new Uint8Array([0x03, 0x00, 0x01]),
  });
  assert.is(cfg.schema!.fields![2]!.type!.atomicType, schemaApi.AtomicType.INT64);
  const req = roundTrip(expansionApi.ExpansionRequest, {
    components: { coders: { c: { spec: { urn: "beam:coder:bytes:v1" } } } },
    transform: {
      uniqueName: "ReadFromKafka",
      spec: {
        urn: "beam:transform:org.apache.beam:kafka_read_with_metadata:v1",
        payload: externalTransforms.ExternalConfigurationPayload.encode(cfg).finish(),
      },
    },
    namespace: "ext_1",
    outputCoderRequests: { out: "c" },
    requirements: ["r"],
    pipelineOptions: { fields: { streaming: { boolValue: true } } },
  });
  assert.is(req.namespace, "ext_1");
  const resp = roundTrip(expansionApi.ExpansionResponse, {
    transform: { uniqueName: "x" },
    requirements: ["r"],
    error: "",
  });
  assert.is(resp.error, "");
  const disc = roundTrip(expansionApi.DiscoverSchemaTransformResponse, {
    schemaTransformConfigs: {
      id: {
        configSchema: { fields: [{ name: "topic", type: { atomicType: schemaApi.AtomicType.STRING } }] },
        inputPcollectionNames: [],
        outputPcollectionNames: ["output"],
        description: "d",
      },
    },
    error: "",
  });
  assert.equal(disc.schemaTransformConfigs!.id!.outputPcollectionNames, ["output"]);
  roundTrip(externalTransforms.SchemaTransformPayload, {
    identifier: "beam:schematransform:org.apache.beam:kafka_read:v1",
    configurationSchema: { fields: [] },
    configurationRow: new Uint8Array([0]),
  });
});

s.test("Schema with nested row, map, array, iterable, logical types and options round-trips", () => {
  const str = { atomicType: schemaApi.AtomicType.STRING };
  const schema = roundTrip(schemaApi.Schema, {
    id: "kafka-record",
    fields: [
      { name: "topic", type: str, id: 0, encodingPosition: 0 },
      { name: "offset", type: { atomicType: schemaApi.AtomicType.INT64 }, id: 1, encodingPosition: 2 },
      {
        name: "headers",
        type: {
          nullable: true,
          arrayType: {
            elementType: {
              rowType: {
                schema: {
                  fields: [
                    { name: "key", type: str },
                    { name: "value", type: { nullable: true, atomicType: schemaApi.AtomicType.BYTES } },
                  ],
                },
              },
            },
          },
        },
        id: 2,
        encodingPosition: 1,
        description: "record headers",
      },
      {
        name: "parts",
        type: {
          iterableType: {
            elementType: { mapType: { keyType: str, valueType: { atomicType: schemaApi.AtomicType.DOUBLE } } },
          },
        },
      },
      {
        name: "when",
        type: {
          logicalType: {
            urn: urns.LogicalTypes.Enum.MILLIS_INSTANT,
            payload: new Uint8Array([1]),
            representation: { atomicType: schemaApi.AtomicType.INT64 },
            argumentType: str,
            argument: { atomicValue: { string: "arg" } },
          },
        },
        options: [{ name: "beam:option:x", type: str, value: { atomicValue: { string: "y" } } }],
      },
    ],
    options: [{ name: "o", type: { atomicType: schemaApi.AtomicType.INT32 }, value: { atomicValue: { int32: 7 } } }],
    encodingPositionsSet: true,
  });
  assert.is((schema.fields![2]!.type as schemaApi.FieldType).typeInfo, "arrayType");
  assert.is(schema.fields![2]!.type!.arrayType!.elementType!.rowType!.schema!.fields![1]!.type!.nullable, true);
  assert.is(schema.fields![4]!.type!.logicalType!.urn, "beam:logical_type:millis_instant:v1");
  const row = roundTrip(schemaApi.Row, {
    values: [
      { atomicValue: { string: "t" } },
      { atomicValue: { int64: "-9223372036854775808" } },
      {
        arrayValue: {
          element: [
            {
              rowValue: { values: [{ atomicValue: { string: "k" } }, { atomicValue: { bytes: new Uint8Array([1]) } }] },
            },
          ],
        },
      },
      {
        iterableValue: {
          element: [
            {
              mapValue: {
                entries: [{ key: { atomicValue: { string: "a" } }, value: { atomicValue: { double: 1.5 } } }],
              },
            },
          ],
        },
      },
      { logicalTypeValue: { value: { atomicValue: { int64: "1700000000000" } } } },
    ],
  });
  assert.is(toBigInt(row.values![1]!.atomicValue!.int64), -9223372036854775808n);
});

s.test("int64: extremes are exact through encode/decode, fromBigInt and toBigInt", () => {
  for (const v of [-9223372036854775808n, 9223372036854775807n, -1n, 0n, 9007199254740993n]) {
    const bytes = protobufWkt.Timestamp.encode({ seconds: fromBigInt(v) }).finish();
    const back = protobufWkt.Timestamp.decode(bytes);
    assert.is(toBigInt(back.seconds), v, `seconds ${v}`);
    assert.is(protobufWkt.Timestamp.toObject(back, { longs: String }).seconds, v.toString());
    assert.is(
      toBigInt(protobufWkt.Timestamp.fromObject({ seconds: v.toString() }).seconds),
      v,
      "fromObject accepts decimal strings",
    );
  }
  // -1 as int64 is ten bytes on the wire: field 1 varint ff..ff01.
  assert.is(hex(protobufWkt.Timestamp.encode({ seconds: fromBigInt(-1n) }).finish()), "08ffffffffffffffffff01");
  assert.is(toBigInt(fromBigInt(18446744073709551615n, true)), 18446744073709551615n);
  assert.throws(() => fromBigInt(9223372036854775808n), RangeError);
  assert.throws(() => fromBigInt(-1n, true), RangeError);
  assert.is(toBigInt(null), 0n);
  assert.is(toBigInt("123"), 123n);
  const unset = protobufWkt.Timestamp.decode(new Uint8Array());
  assert.is(toBigInt(unset.seconds), 0n, "an absent int64 field reads as 0");
});

const expectedMethods: Record<BeamServiceName, Record<string, [boolean, boolean]>> = {
  "org.apache.beam.model.expansion.v1.ExpansionService": {
    Expand: [false, false],
    DiscoverSchemaTransform: [false, false],
  },
  "org.apache.beam.model.fn_execution.v1.BeamFnControl": {
    Control: [true, true],
    GetProcessBundleDescriptor: [false, false],
  },
  "org.apache.beam.model.fn_execution.v1.BeamFnData": { Data: [true, true] },
  "org.apache.beam.model.fn_execution.v1.BeamFnState": { State: [true, true] },
  "org.apache.beam.model.fn_execution.v1.BeamFnLogging": { Logging: [true, true] },
  "org.apache.beam.model.fn_execution.v1.BeamFnExternalWorkerPool": {
    StartWorker: [false, false],
    StopWorker: [false, false],
  },
  "org.apache.beam.model.fn_execution.v1.BeamFnWorkerStatus": { WorkerStatus: [true, true] },
  "org.apache.beam.model.fn_execution.v1.ProvisionService": { GetProvisionInfo: [false, false] },
  "org.apache.beam.model.job_management.v1.JobService": {
    Prepare: [false, false],
    Run: [false, false],
    GetJobs: [false, false],
    GetState: [false, false],
    GetPipeline: [false, false],
    Cancel: [false, false],
    Drain: [false, false],
    GetStateStream: [false, true],
    GetMessageStream: [false, true],
    GetJobMetrics: [false, false],
    DescribePipelineOptions: [false, false],
  },
  "org.apache.beam.model.job_management.v1.ArtifactRetrievalService": {
    ResolveArtifacts: [false, false],
    GetArtifact: [false, true],
  },
  "org.apache.beam.model.job_management.v1.ArtifactStagingService": { ReverseArtifactRetrievalService: [true, true] },
};

s.test("grpc service definitions: paths, streaming flags, serializers", () => {
  assert.equal([...beamServiceNames].sort(), Object.keys(expectedMethods).sort());
  for (const name of beamServiceNames) {
    const def = grpcServiceDefinition(name);
    assert.equal(Object.keys(def).sort(), Object.keys(expectedMethods[name]).sort(), name);
    for (const [method, [reqStream, respStream]] of Object.entries(expectedMethods[name])) {
      const m = def[method]!;
      assert.is(m.path, `/${name}/${method}`);
      assert.is(m.requestStream, reqStream, `${name}/${method} requestStream`);
      assert.is(m.responseStream, respStream, `${name}/${method} responseStream`);
      assert.is(m.originalName, method.charAt(0).toLowerCase() + method.slice(1));
    }
  }
  const expand = grpcServiceDefinition("org.apache.beam.model.expansion.v1.ExpansionService").Expand!;
  const wire = expand.requestSerialize({ namespace: "n", transform: { uniqueName: "u" } });
  assert.ok(Buffer.isBuffer(wire));
  const back = expand.requestDeserialize(wire) as expansionApi.ExpansionRequest;
  assert.is(back.namespace, "n");
  assert.ok(back instanceof expansionApi.ExpansionRequest);
  const logging = grpcServiceDefinition("org.apache.beam.model.fn_execution.v1.BeamFnLogging").Logging!;
  assert.ok(
    logging.requestDeserialize(logging.requestSerialize({ logEntries: [{ message: "x" }] })) instanceof
      fnApi.LogEntry.List,
  );
  assert.throws(() => grpcServiceDefinition("no.such.Service" as BeamServiceName), /no service/);
});

s.test("grpc definitions plug into server.addService and makeGenericClientConstructor", () => {
  const server = new grpc.Server();
  server.addService(grpcServiceDefinition("org.apache.beam.model.fn_execution.v1.BeamFnExternalWorkerPool"), {
    StartWorker: (_call: unknown, cb: grpc.sendUnaryData<object>) => cb(null, {}),
    StopWorker: (_call: unknown, cb: grpc.sendUnaryData<object>) => cb(null, {}),
  });
  const Client = grpc.makeGenericClientConstructor(
    grpcServiceDefinition("org.apache.beam.model.fn_execution.v1.ProvisionService"),
    "ProvisionService",
  );
  const proto = Client.prototype as unknown as Record<string, unknown>;
  assert.type(proto.GetProvisionInfo, "function");
  assert.type(proto.getProvisionInfo, "function");
  void server.forceShutdown();
});

s.run();
