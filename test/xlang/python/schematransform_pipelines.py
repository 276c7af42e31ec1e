"""Beam Python's SchemaTransform route into our expansion service: discovery, managed.Read/Write(KAFKA) and
SchemaAwareExternalTransform, built against our service and (roundtrip modes) run on Prism.

Usage: schematransform_pipelines.py MODE --expansion HOST:PORT [--job-endpoint HOST:PORT --bootstrap HOST:PORT --topic T]
The last line of stdout is a JSON object with the result, read by the TypeScript test.
"""
import argparse
import atexit
import datetime
import glob
import json
import os
import shutil
import sys
import tempfile
import typing
from decimal import Decimal

import apache_beam as beam
import fastavro
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.transforms import managed
from apache_beam.transforms.external import SchemaAwareExternalTransform

KAFKA_READ = "beam:schematransform:org.apache.beam:kafka_read:v1"
KAFKA_WRITE = "beam:schematransform:org.apache.beam:kafka_write:v1"

JSON_SCHEMA = json.dumps({"type": "object", "required": ["id"],
                          "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}})


def options(args):
    return PipelineOptions([
        "--runner=PortableRunner",
        f"--job_endpoint={args.job_endpoint or 'localhost:1'}",
        "--environment_type=LOOPBACK",
    ])


def discover(args):
    """What Python sees through DiscoverSchemaTransform."""
    found = {}
    for config in SchemaAwareExternalTransform.discover(args.expansion):
        hints = config.configuration_schema.__annotations__
        found[config.identifier] = {
            "fields": [[name, str(hints[name])] for name in config.configuration_schema._fields],
            "inputs": list(config.inputs), "outputs": list(config.outputs),
        }
    return {"transforms": found}


def output_schema(pcoll):
    """Field names of a PCollection's element type (a schema'd NamedTuple)."""
    return list(getattr(pcoll.element_type, "_fields", []))


def expand_only(args):
    """managed.Read/Write and SchemaAwareExternalTransform construct against our service and serialize."""
    p = beam.Pipeline(options=options(args))
    base = {"bootstrap_servers": args.bootstrap, "topic": args.topic}
    raw = p | "managed-read" >> managed.Read(managed.KAFKA, config={**base, "format": "RAW"},
                                             expansion_service=args.expansion)
    with_errors = p | "managed-read-errors" >> managed.Read(
        managed.KAFKA, config={**base, "format": "JSON", "schema": JSON_SCHEMA, "error_handling": {"output": "bad"}},
        expansion_service=args.expansion)
    direct = p | "direct-read" >> SchemaAwareExternalTransform(
        identifier=KAFKA_READ, expansion_service=args.expansion, rearrange_based_on_discovery=True,
        bootstrap_servers=args.bootstrap, topic=args.topic, format="JSON", schema=JSON_SCHEMA,
        max_read_time_seconds=5)
    rows = p | "rows" >> beam.Create([beam.Row(payload=b"a"), beam.Row(payload=b"b")])
    written = rows | "managed-write" >> managed.Write(managed.KAFKA, config={**base, "format": "RAW"},
                                                      expansion_service=args.expansion)
    json_rows = p | "json-rows" >> beam.Create([beam.Row(id=1, name="x")])
    direct_write = json_rows | "direct-write" >> SchemaAwareExternalTransform(
        identifier=KAFKA_WRITE, expansion_service=args.expansion, rearrange_based_on_discovery=True,
        bootstrap_servers=args.bootstrap, topic=args.topic, format="JSON", error_handling={"output": "failed"})
    proto = p.to_runner_api()
    dofns = []
    for t in proto.components.transforms.values():
        if t.spec.urn == "beam:transform:pardo:v1":
            from apache_beam.portability.api import beam_runner_api_pb2
            payload = beam_runner_api_pb2.ParDoPayload.FromString(t.spec.payload)
            if payload.do_fn.urn == "kafka-beam-ts:dofn:v1":
                dofns.append(json.loads(payload.do_fn.payload)["fn"])
    return {
        "raw_fields": output_schema(raw),
        "errors_outputs": sorted(with_errors.keys()) if isinstance(with_errors, dict) else None,
        "json_fields": output_schema(with_errors["output"]) if isinstance(with_errors, dict) else None,
        "bad_fields": output_schema(with_errors["bad"]) if isinstance(with_errors, dict) else None,
        "direct_fields": output_schema(direct),
        "write_result": sorted(written.keys()) if isinstance(written, dict) else str(type(written)),
        "direct_write_outputs": sorted(direct_write.keys()) if isinstance(direct_write, dict) else [direct_write.tag],
        "direct_write_fields": output_schema(direct_write if not isinstance(direct_write, dict) else direct_write["failed"]),
        "dofns": sorted(dofns),
        "environments": sorted(e.urn for e in proto.components.environments.values()),
    }


def bad_format(args):
    """PROTO is refused with our message, naming the field."""
    try:
        p = beam.Pipeline(options=options(args))
        p | managed.Read(managed.KAFKA, config={"bootstrap_servers": args.bootstrap, "topic": args.topic,
                                                "format": "PROTO", "message_name": "M"},
                         expansion_service=args.expansion)
    except Exception as e:  # the expansion error surfaces at construction
        return {"error_type": type(e).__name__, "error": str(e)}
    return {"error": None}


def write(args):
    with beam.Pipeline(options=options(args)) as p:
        (p
         | beam.Create([beam.Row(payload=f"value-{i}".encode()) for i in range(args.count)])
         | managed.Write(managed.KAFKA, config={"bootstrap_servers": args.bootstrap, "topic": args.topic, "format": "RAW"},
                         expansion_service=args.expansion))
    return {"written": args.count}


def read(args):
    out_dir = tempfile.mkdtemp(prefix="kbt-st-read-")
    atexit.register(shutil.rmtree, out_dir, True)  # the output files go when the process does
    with beam.Pipeline(options=options(args)) as p:
        rows = p | managed.Read(managed.KAFKA, config={
            "bootstrap_servers": args.bootstrap, "topic": args.topic, "format": "RAW",
            "auto_offset_reset_config": "earliest", "max_read_time_seconds": args.read_seconds},
            expansion_service=args.expansion)
        rows | beam.Map(lambda r: r.payload.decode()) | beam.io.WriteToText(os.path.join(out_dir, "out"))
    payloads = []
    for path in sorted(glob.glob(os.path.join(out_dir, "out*"))):
        with open(path) as f:
            payloads.extend(line.rstrip("\n") for line in f if line.strip())
    return {"payloads": payloads}


def read_json_errors(args):
    """managed.Read JSON with error_handling: good rows and dead letters, each to its own file."""
    out_dir = tempfile.mkdtemp(prefix="kbt-st-json-")
    atexit.register(shutil.rmtree, out_dir, True)  # the output files go when the process does
    with beam.Pipeline(options=options(args)) as p:
        outputs = p | managed.Read(managed.KAFKA, config={
            "bootstrap_servers": args.bootstrap, "topic": args.topic, "format": "JSON", "schema": JSON_SCHEMA,
            "auto_offset_reset_config": "earliest", "max_read_time_seconds": args.read_seconds,
            "error_handling": {"output": "bad"}},
            expansion_service=args.expansion)
        (outputs["output"]
         | "good" >> beam.Map(lambda r: json.dumps({"id": r.id, "name": r.name}))
         | "write-good" >> beam.io.WriteToText(os.path.join(out_dir, "good")))
        (outputs["bad"]
         | "bad" >> beam.Map(lambda r: json.dumps({"failed_row": r.failed_row.decode(), "error_message": r.error_message}))
         | "write-bad" >> beam.io.WriteToText(os.path.join(out_dir, "bad")))

    def lines(prefix):
        found = []
        for path in sorted(glob.glob(os.path.join(out_dir, prefix + "*"))):
            with open(path) as f:
                found.extend(json.loads(line) for line in f if line.strip())
        return found
    return {"good": lines("good"), "bad": lines("bad")}


class AvroEvent(typing.NamedTuple):
    """Rows a Python user writes with managed.Write(format AVRO)."""
    id: int
    name: typing.Optional[str]
    score: float
    tags: typing.List[str]
    payload: bytes


beam.coders.registry.register_coder(AvroEvent, beam.coders.RowCoder)

# What our expansion derives from AvroEvent's row schema (as Beam Java's AvroUtils.toAvroSchema would).
AVRO_EVENT_SCHEMA = {"type": "record", "name": "topLevelRecord", "fields": [
    {"name": "id", "type": "long"}, {"name": "name", "type": ["null", "string"]}, {"name": "score", "type": "double"},
    {"name": "tags", "type": {"type": "array", "items": "string"}}, {"name": "payload", "type": "bytes"}]}

# What a producer elsewhere writes with fastavro, read back with managed.Read(format AVRO).
AVRO_ORDER_SCHEMA = {"type": "record", "name": "Order", "namespace": "shop", "fields": [
    {"name": "id", "type": "long"},
    {"name": "customer", "type": {"type": "record", "name": "Customer", "fields": [
        {"name": "name", "type": "string"}, {"name": "vip", "type": "boolean"}]}},
    {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID"]}},
    {"name": "note", "type": ["null", "string"], "default": None},
    {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
    {"name": "placed", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "items", "type": {"type": "array", "items": "string"}},
    {"name": "attrs", "type": {"type": "map", "values": "int"}},
    {"name": "weight", "type": "float"},
    {"name": "shipped", "type": ["null", {"type": "int", "logicalType": "date"}]},
    {"name": "checksum", "type": {"type": "fixed", "name": "Checksum", "size": 4}},
    {"name": "exact", "type": {"type": "fixed", "name": "Exact", "size": 8, "logicalType": "decimal",
                               "precision": 15, "scale": 3}}]}


def avro_event(i):
    return AvroEvent(id=i, name=None if i % 3 == 0 else f"name-{i}", score=i / 4, tags=[f"t{j}" for j in range(i % 3)],
                     payload=bytes([i % 256, 255]))


def write_avro(args):
    with beam.Pipeline(options=options(args)) as p:
        (p
         | beam.Create([avro_event(i) for i in range(args.count)]).with_output_types(AvroEvent)
         | managed.Write(managed.KAFKA, config={"bootstrap_servers": args.bootstrap, "topic": args.topic,
                                                "format": "AVRO"}, expansion_service=args.expansion))
    return {"written": args.count}


def avro_decode(args):
    """Decodes hex Avro values (one per line of --values-file) with fastavro and AVRO_EVENT_SCHEMA."""
    schema = fastavro.parse_schema(AVRO_EVENT_SCHEMA)
    import io
    rows = []
    with open(args.values_file) as f:
        for line in f:
            if line.strip():
                record = fastavro.schemaless_reader(io.BytesIO(bytes.fromhex(line.strip())), schema)
                record["payload"] = record["payload"].hex()
                rows.append(record)
    expected = [{**avro_event(i)._asdict(), "payload": avro_event(i).payload.hex()} for i in range(args.count)]
    return {"rows": rows, "expected": expected}


def avro_order(i):
    return {"id": i, "customer": {"name": f"c{i % 5}", "vip": i % 2 == 0}, "status": "PAID" if i % 2 else "NEW",
            "note": None if i % 4 else f"note {i}", "amount": Decimal(f"{i}.{i % 100:02d}"),
            "placed": 1_764_000_000_000 + i, "items": [f"item-{j}" for j in range(i % 4)],
            "attrs": {f"k{j}": j * i for j in range(i % 3)}, "weight": 0.5 + i,
            "shipped": None if i % 5 == 0 else datetime.date(2026, 1, 1) + datetime.timedelta(days=i),
            "checksum": bytes([i % 256, 1, 2, 3]), "exact": Decimal(f"-{i + 1}.{i % 1000:03d}")}  # not -0: fastavro writes it as -0.002


def plain(value):
    """A row value as JSON: rows as objects, bytes as hex, decimals as text, timestamps as ms."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, beam.Row):
        return {k: plain(v) for k, v in value.as_dict().items()}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if hasattr(value, "micros"):
        return value.micros // 1000
    return value


def avro_encode(args):
    """--count Order records encoded by fastavro (hex, one per value), and what a reader should get back."""
    import io
    schema = fastavro.parse_schema(AVRO_ORDER_SCHEMA)
    values, expected = [], []
    for i in range(args.count):
        out = io.BytesIO()
        fastavro.schemaless_writer(out, schema, avro_order(i))
        values.append(out.getvalue().hex())
        expected.append(plain(avro_order(i)))
    return {"values": values, "expected": expected, "schema": json.dumps(AVRO_ORDER_SCHEMA)}


def read_avro(args):
    out_dir = tempfile.mkdtemp(prefix="kbt-st-avro-")
    atexit.register(shutil.rmtree, out_dir, True)
    with beam.Pipeline(options=options(args)) as p:
        # No format: AVRO is the read's default, as in Beam Java.
        rows = p | managed.Read(managed.KAFKA, config={
            "bootstrap_servers": args.bootstrap, "topic": args.topic, "schema": json.dumps(AVRO_ORDER_SCHEMA),
            "auto_offset_reset_config": "earliest", "max_read_time_seconds": args.read_seconds},
            expansion_service=args.expansion)
        rows | beam.Map(lambda r: json.dumps(plain(r))) | beam.io.WriteToText(os.path.join(out_dir, "out"))
    found = []
    for path in sorted(glob.glob(os.path.join(out_dir, "out*"))):
        with open(path) as f:
            found.extend(json.loads(line) for line in f if line.strip())
    return {"rows": found}


def yaml_roundtrip(args):
    """Beam YAML: Create → WriteToKafkaTs (AVRO), then ReadFromKafkaTs (AVRO, the read's default) → WriteToJson, both
    served by our service through a `remote` provider under names of their own, as the README shows (under Beam's
    names, YAML may pick its Java expansion service instead: it prefers the provider that shares a jar with the
    next transform)."""
    from apache_beam.yaml import yaml_transform
    out_dir = tempfile.mkdtemp(prefix="kbt-st-yaml-")
    atexit.register(shutil.rmtree, out_dir, True)
    providers = f"""
providers:
  - type: remote
    config:
      address: {args.expansion}
    transforms:
      WriteToKafkaTs: 'beam:schematransform:org.apache.beam:kafka_write:v1'
      ReadFromKafkaTs: 'beam:schematransform:org.apache.beam:kafka_read:v1'
"""
    elements = "\n".join(f"          - {{id: {i}, name: 'name-{i}'}}" for i in range(args.count))
    write = f"""
pipeline:
  transforms:
    - type: Create
      config:
        elements:
{elements}
    - type: WriteToKafkaTs
      input: Create
      config:
        format: AVRO
        topic: {args.topic}
        bootstrap_servers: "{args.bootstrap}"
{providers}"""
    schema = json.dumps({"type": "record", "name": "topLevelRecord",
                         "fields": [{"name": "id", "type": "long"}, {"name": "name", "type": "string"}]})
    read = f"""
pipeline:
  transforms:
    - type: ReadFromKafkaTs
      config:
        topic: {args.topic}
        bootstrap_servers: "{args.bootstrap}"
        auto_offset_reset_config: earliest
        max_read_time_seconds: {args.read_seconds}
        schema: '{schema}'
    - type: WriteToJson
      input: ReadFromKafkaTs
      config:
        path: {os.path.join(out_dir, "out")}
{providers}"""
    for text in (write, read):
        with beam.Pipeline(options=options(args)) as p:
            yaml_transform.expand_pipeline(p, text)
    rows = []
    for path in sorted(glob.glob(os.path.join(out_dir, "out*"))):
        with open(path) as f:
            rows.extend(json.loads(line) for line in f if line.strip())
    return {"rows": rows}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["discover", "expand-only", "bad-format", "write", "read", "read-json-errors",
                                         "write-avro", "avro-decode", "avro-encode", "read-avro", "yaml-roundtrip"])
    parser.add_argument("--expansion", required=True)
    parser.add_argument("--job-endpoint", default="")
    parser.add_argument("--bootstrap", default="127.0.0.1:9")
    parser.add_argument("--topic", default="t")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--read-seconds", type=int, default=15)
    parser.add_argument("--values-file", default="")
    args = parser.parse_args()
    result = {"discover": discover, "expand-only": expand_only, "bad-format": bad_format, "write": write, "read": read,
              "read-json-errors": read_json_errors, "write-avro": write_avro, "avro-decode": avro_decode,
              "avro-encode": avro_encode, "read-avro": read_avro, "yaml-roundtrip": yaml_roundtrip}[args.mode](args)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
