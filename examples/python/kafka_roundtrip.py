"""Read a Kafka topic, transform each record, write another topic: Beam's own Python transforms, expanded by the
kafka-beam-ts service (no Java, no JVM expansion service).

On one machine (Prism starts our worker through the process environment `serve` offers by default):
    kafka-beam-ts serve &
    python kafka_roundtrip.py --bootstrap localhost:9092 --input events --output events-upper --max-records 1000 \
        --runner=PrismRunner

On Flink with the sidecar of ../kubernetes/flink-taskmanager-sidecar.yaml:
    python kafka_roundtrip.py --expansion-service kafka-beam-ts-expansion:8097 --bootstrap kafka:9092 \
        --input events --output events-upper --runner=PortableRunner --job_endpoint=flink-jobserver:8099 \
        --environment_type=EXTERNAL --environment_config=localhost:50000 \
        --streaming --checkpointing_interval=10000 --finish_bundle_before_checkpointing --max_bundle_time_mills=100
    (the last line: the streaming setup Beam's Flink runner needs; README, "On Flink and Spark")

Flags this script does not know are pipeline options, passed to Beam unchanged.
"""
import argparse
import logging

import apache_beam as beam
from apache_beam.io.kafka import ReadFromKafka, WriteToKafka
from apache_beam.options.pipeline_options import PipelineOptions


def upper_case(record):
    """(key, value) bytes → the same key, the value in upper case."""
    key, value = record
    return key, (value or b"").upper()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--expansion-service", default="localhost:8097",
                        help="host:port of `kafka-beam-ts serve` (its --expansion-port)")
    parser.add_argument("--bootstrap", required=True, help="Kafka bootstrap.servers")
    parser.add_argument("--input", required=True, help="topic to read")
    parser.add_argument("--output", required=True, help="topic to write")
    parser.add_argument("--group-id", default=None, help="consumer group to commit read offsets to")
    parser.add_argument("--max-records", type=int, default=None,
                        help="stop after this many records (a bounded read); unbounded when absent")
    args, pipeline_args = parser.parse_known_args(argv)

    consumer_config = {"bootstrap.servers": args.bootstrap, "auto.offset.reset": "earliest"}
    if args.group_id:
        consumer_config["group.id"] = args.group_id

    with beam.Pipeline(options=PipelineOptions(pipeline_args)) as p:
        (p
         | "Read" >> ReadFromKafka(consumer_config=consumer_config,
                                   topics=[args.input],
                                   max_num_records=args.max_records,
                                   commit_offset_in_finalize=bool(args.group_id),
                                   expansion_service=args.expansion_service)
         | "UpperCase" >> beam.Map(upper_case).with_output_types(tuple[bytes, bytes])
         | "Write" >> WriteToKafka(producer_config={"bootstrap.servers": args.bootstrap},
                                   topic=args.output,
                                   expansion_service=args.expansion_service))


if __name__ == "__main__":
    logging.getLogger().setLevel(logging.INFO)
    main()
