"""Beam Python's SchemaTransform route into our expansion service: discovery, managed.Read/Write(KAFKA) and
SchemaAwareExternalTransform, built against our service and (roundtrip modes) run on Prism.

Usage: schematransform_pipelines.py MODE --expansion HOST:PORT [--job-endpoint HOST:PORT --bootstrap HOST:PORT --topic T]
The last line of stdout is a JSON object with the result, read by the TypeScript test.
"""
import argparse
import atexit
import glob
import json
import os
import shutil
import sys
import tempfile

import apache_beam as beam
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
    """AVRO is refused with our message, naming the field."""
    try:
        p = beam.Pipeline(options=options(args))
        p | managed.Read(managed.KAFKA, config={"bootstrap_servers": args.bootstrap, "topic": args.topic,
                                                "format": "AVRO", "schema": '{"type": "string"}'},
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["discover", "expand-only", "bad-format", "write", "read", "read-json-errors"])
    parser.add_argument("--expansion", required=True)
    parser.add_argument("--job-endpoint", default="")
    parser.add_argument("--bootstrap", default="127.0.0.1:9")
    parser.add_argument("--topic", default="t")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--read-seconds", type=int, default=15)
    args = parser.parse_args()
    result = {"discover": discover, "expand-only": expand_only, "bad-format": bad_format, "write": write, "read": read,
              "read-json-errors": read_json_errors}[args.mode](args)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
