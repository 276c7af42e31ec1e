"""A Python pipeline on Prism that applies a test transform of ours (a counter SDF) by URN through ExternalTransform.

Usage: counter_pipeline.py --expansion HOST:PORT --job-endpoint HOST:PORT --count N
Prints a JSON line {"values": [...]} with every value the transform emitted.
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
from apache_beam.transforms.external import ExternalTransform, ImplicitSchemaPayloadBuilder


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--expansion", required=True)
    parser.add_argument("--job-endpoint", required=True)
    parser.add_argument("--count", type=int, required=True)
    args = parser.parse_args()
    out_dir = tempfile.mkdtemp(prefix="kbt-counter-")
    atexit.register(shutil.rmtree, out_dir, True)  # the output files go when the process does
    options = PipelineOptions(["--runner=PortableRunner", f"--job_endpoint={args.job_endpoint}",
                               "--environment_type=LOOPBACK"])
    with beam.Pipeline(options=options) as p:
        (p
         | ExternalTransform("kafka-beam-ts:test:counter:v1", ImplicitSchemaPayloadBuilder({"count": args.count}),
                             args.expansion)
         | beam.Map(str)
         | beam.io.WriteToText(os.path.join(out_dir, "out")))
    values = []
    for path in glob.glob(os.path.join(out_dir, "out*")):
        with open(path) as f:
            values.extend(int(line) for line in f if line.strip())
    sys.stdout.write(json.dumps({"values": sorted(values)}) + "\n")


if __name__ == "__main__":
    main()
