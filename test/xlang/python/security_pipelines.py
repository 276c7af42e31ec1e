"""Beam Python's WriteToKafka / ReadFromKafka against brokers that require TLS or SASL, through our service.

Usage: security_pipelines.py MODE --expansion HOST:PORT --job-endpoint HOST:PORT --cases FILE [--expansion-ca FILE]
  roundtrip: for each case of the JSON file ({"name", "config", "topic"}), writes --count records with the case's
             producer config, then reads them back with it; the last stdout line is {"results": {name: [[k, v]...]}}.
  fail:      runs the first case's write, which must fail; the last line is {"error": "<what Python was told>"}.
--expansion-ca: connect to the expansion service over TLS, trusting this CA (serve --tls-cert/--tls-key).
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
import grpc
from apache_beam.io.kafka import ReadFromKafka, WriteToKafka
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.transforms.external import ExpansionAndArtifactRetrievalStub


def options(args):
    return PipelineOptions([
        "--runner=PortableRunner", f"--job_endpoint={args.job_endpoint}", "--environment_type=LOOPBACK"])


def expansion_service(args):
    if not args.expansion_ca:
        return args.expansion
    with open(args.expansion_ca, "rb") as f:
        credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
    channel = grpc.secure_channel(args.expansion, credentials, options=[("grpc.max_receive_message_length", -1)])
    return ExpansionAndArtifactRetrievalStub(channel)


def write(args, case):
    records = [(f"key-{i}".encode(), f"value-{i}".encode()) for i in range(args.count)]
    with beam.Pipeline(options=options(args)) as p:
        (p
         | beam.Create(records).with_output_types(tuple[bytes, bytes])
         | WriteToKafka(producer_config=case["config"], topic=case["topic"],
                        expansion_service=expansion_service(args)))


def read(args, case):
    out_dir = tempfile.mkdtemp(prefix="kbt-secure-read-")
    atexit.register(shutil.rmtree, out_dir, True)  # the output files go when the process does
    consumer_config = {**case["config"], "auto.offset.reset": "earliest"}
    with beam.Pipeline(options=options(args)) as p:
        (p
         | ReadFromKafka(consumer_config=consumer_config, topics=[case["topic"]], max_num_records=args.count,
                         expansion_service=expansion_service(args))
         | beam.Map(lambda kv: json.dumps([kv[0].decode(), kv[1].decode()]))
         | beam.io.WriteToText(os.path.join(out_dir, "out")))
    rows = []
    for path in sorted(glob.glob(os.path.join(out_dir, "out*"))):
        with open(path) as f:
            rows.extend(json.loads(line) for line in f if line.strip())
    return sorted(rows)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["roundtrip", "fail"])
    parser.add_argument("--expansion", required=True)
    parser.add_argument("--expansion-ca")
    parser.add_argument("--job-endpoint", required=True)
    parser.add_argument("--cases", required=True)
    parser.add_argument("--count", type=int, default=5)
    args = parser.parse_args()
    with open(args.cases) as f:
        cases = json.load(f)
    if args.mode == "roundtrip":
        results = {}
        for case in cases:
            write(args, case)
            print(f"{case['name']}: written", file=sys.stderr, flush=True)
            results[case["name"]] = read(args, case)
            print(f"{case['name']}: read", file=sys.stderr, flush=True)
        print(json.dumps({"results": results}))
    else:
        try:
            write(args, cases[0])
        except Exception as e:  # what a user sees: the job's failure as the SDK raises it
            print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
            return
        print(json.dumps({"error": None}))


if __name__ == "__main__":
    main()
