"""Beam Python pipelines on the kafka_beam_ts package (python/): no expansion service given, so the package starts
kafka-beam-ts on demand. Run by test/xlang/python-entry.test.ts; the last stdout line is the JSON result.

Usage: entry_pipelines.py --job-endpoint HOST:PORT --bootstrap HOST:PORT --topic T --count N
"""
import argparse
import json
import os
import sys

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from kafka_beam_ts import ReadFromKafka, WriteToKafka


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--job-endpoint", required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--count", type=int, required=True)
    args = parser.parse_args()
    options = PipelineOptions(["--runner=PortableRunner", f"--job_endpoint={args.job_endpoint}", "--environment_type=LOOPBACK"])
    records = [(f"k{i}".encode(), f"v{i}".encode()) for i in range(args.count)]
    with beam.Pipeline(options=options) as p:
        (p
         | beam.Create(records).with_output_types(tuple[bytes, bytes])
         | WriteToKafka(producer_config={"bootstrap.servers": args.bootstrap}, topic=args.topic))
    with beam.Pipeline(options=options) as p:
        read = (p
                | ReadFromKafka(consumer_config={"bootstrap.servers": args.bootstrap, "auto.offset.reset": "earliest"},
                                topics=[args.topic], max_num_records=args.count)
                | beam.Map(lambda kv: (kv[0], kv[1])))
        assert_that(read, equal_to(records))
    sys.stdout.write(json.dumps({"pid": os.getpid(), "records": len(records)}) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
