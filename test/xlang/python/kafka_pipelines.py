"""Real Beam Python pipelines that use our expansion service, run on Prism by test/xlang.

Usage: kafka_pipelines.py MODE --expansion HOST:PORT --job-endpoint HOST:PORT --bootstrap HOST:PORT --topic T [...]
The last line of stdout is a JSON object with the result, read by the TypeScript test.
"""
import argparse
import glob
import json
import os
import shutil
import sys
import tempfile
import time
import typing

import apache_beam as beam
import numpy as np
from apache_beam.io.kafka import ReadFromKafka, WriteToKafka
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.transforms.external import NamedTupleBasedPayloadBuilder

KAFKA_WRITE_URN = "beam:transform:kafka_write:v1"


class KafkaWriteEosConfig(typing.NamedTuple):
    """The payload of our own write URN with the exactly-once fields (README, "Payload fields")."""
    producer_config: typing.Mapping[str, str]
    topic: str
    exactly_once_shards: int
    sink_group_id: str
    metadata_topic: typing.Optional[str]
    exactly_once_window_ms: typing.Optional[int]
    requires_stable_input: typing.Optional[bool]


def write_eos_transform(args, topic):
    config = KafkaWriteEosConfig(
        producer_config={"bootstrap.servers": args.bootstrap, "transactional.id": f"xlang-{args.sink_group}"},
        topic=topic, exactly_once_shards=args.shards, sink_group_id=args.sink_group,
        metadata_topic=args.metadata_topic or None, exactly_once_window_ms=args.window_ms or None,
        # Prism 2.77 refuses pipelines that require stable input; Flink needs it (README, "Exactly-once").
        requires_stable_input=False if args.no_stable_input else None)
    return beam.ExternalTransform(KAFKA_WRITE_URN, NamedTupleBasedPayloadBuilder(config), args.expansion)


def options(args):
    # --pipeline-option passes runner options through (--streaming, --parallelism=2, --checkpointing_interval=...).
    return PipelineOptions([
        "--runner=PortableRunner",
        f"--job_endpoint={args.job_endpoint}",
        "--environment_type=LOOPBACK",
        *args.pipeline_option,
    ])


def run_then_cancel(p, seconds):
    """Runs an unbounded pipeline for `seconds`, then cancels it; returns its final state."""
    from apache_beam.runners.runner import PipelineState
    result = p.run()
    state = result.wait_until_finish(duration=seconds * 1000)
    if not PipelineState.is_terminal(state):
        result.cancel()
        try:
            state = result.wait_until_finish(duration=30_000)
        except (RuntimeError, ValueError) as e:
            # After a cancel the portable runner may report the job as failed ("unknown error" on Prism 2.77), or
            # its state stream may break inside grpcio ("Internal gRPC call error 8"). The job was cancelled either
            # way; the TypeScript test checks what the pipeline wrote, not this state.
            known = ("CANCEL", "unknown error", "Internal gRPC call error")
            if not any(k in str(e) for k in known):
                raise
            print(f"cancel ended with: {e}", file=sys.stderr)
            state = PipelineState.CANCELLED
    return state


def run_until_stopped(p, seconds, stop_file):
    """Runs an unbounded pipeline until `stop_file` exists (the test saw what it waits for) or `seconds` passed,
    then cancels it; returns its final state. A job that fails on its own raises its error."""
    from apache_beam.runners.runner import PipelineState
    result = p.run()
    deadline = time.time() + seconds
    while time.time() < deadline and not os.path.exists(stop_file):
        if PipelineState.is_terminal(result.state):
            return result.wait_until_finish()
        time.sleep(0.5)
    result.cancel()
    try:
        state = result.wait_until_finish(duration=30_000)
    except RuntimeError as e:
        # As in run_then_cancel: Prism 2.77 reports a cancelled job as failed, sometimes as "unknown error".
        if "CANCEL" not in str(e) and "unknown error" not in str(e):
            raise
        state = PipelineState.CANCELLED
    # For the test's failure message: a job the runner did not stop keeps running after this process is gone.
    print(f"cancel requested; the runner reports {state}", file=sys.stderr)
    return state


def write(args):
    records = [(f"key-{i % 7}".encode(), f"value-{i}".encode()) for i in range(args.count)]
    with beam.Pipeline(options=options(args)) as p:
        (p
         | beam.Create(records).with_output_types(tuple[bytes, bytes])
         | WriteToKafka(producer_config={"bootstrap.servers": args.bootstrap},
                        topic=args.topic, expansion_service=args.expansion))
    return {"written": len(records)}


def write_headers(args):
    """WriteToKafka(with_headers=True): Rows with key, value, headers and a timestamp."""
    # Recent timestamps: the broker's retention (7 days) deletes records stamped further back.
    base = int(time.time() * 1000) - 60_000
    rows = [beam.Row(key=f"key-{i}".encode(), value=f"value-{i}".encode(),
                     headers=[beam.Row(key="n", value=str(i).encode())], timestamp=base + i)
            for i in range(args.count)]
    with beam.Pipeline(options=options(args)) as p:
        (p
         | beam.Create(rows)
         | WriteToKafka(producer_config={"bootstrap.servers": args.bootstrap}, topic=args.topic, with_headers=True,
                        expansion_service=args.expansion))
    return {"written": len(rows), "base_timestamp": base}


def write_eos(args):
    """Our URN's exactly-once sink on a bounded input: shard, GroupByKey (Prism), one transaction per shard."""
    records = [(f"key-{i}".encode(), f"value-{i}".encode()) for i in range(args.count)]
    with beam.Pipeline(options=options(args)) as p:
        (p
         | beam.Create(records).with_output_types(tuple[bytes, bytes])
         | write_eos_transform(args, args.topic))
    return {"written": len(records)}


def write_eos_unbounded(args):
    """Copies --topic (unbounded read) to --results-topic through the exactly-once sink, then cancels."""
    consumer_config = {"bootstrap.servers": args.bootstrap, "auto.offset.reset": "earliest"}
    p = beam.Pipeline(options=options(args))
    (p
     | ReadFromKafka(consumer_config=consumer_config, topics=[args.topic], expansion_service=args.expansion)
     | beam.Map(lambda kv: (kv[0], kv[1])).with_output_types(tuple[bytes, bytes])
     | write_eos_transform(args, args.results_topic))
    return {"state": str(run_until_stopped(p, args.run_seconds, args.stop_file))}


def redistribute_kwargs(args):
    """ReadFromKafka's redistribute arguments for --redistribute-keys (none when it is not given)."""
    if args.redistribute_keys < 0:
        return {}
    return {"redistribute": True, "redistribute_num_keys": np.int32(args.redistribute_keys)}


def read(args, with_metadata):
    out_dir = tempfile.mkdtemp(prefix="kbt-read-")
    consumer_config = {"bootstrap.servers": args.bootstrap, "auto.offset.reset": "earliest"}
    if args.commit_offsets:
        consumer_config["group.id"] = args.group
    with beam.Pipeline(options=options(args)) as p:
        records = p | ReadFromKafka(consumer_config=consumer_config, topics=[args.topic],
                                    max_num_records=args.count, with_metadata=with_metadata,
                                    commit_offset_in_finalize=args.commit_offsets, expansion_service=args.expansion,
                                    timestamp_policy=args.timestamp_policy, **redistribute_kwargs(args))
        if with_metadata:
            def metadata_line(r, ts=beam.DoFn.TimestampParam):
                line = {
                    "topic": r.topic, "partition": r.partition, "offset": r.offset, "timestamp": r.timestamp,
                    "key": r.key.decode() if r.key is not None else None,
                    "value": r.value.decode() if r.value is not None else None,
                    "headers": [[h.key, h.value.decode() if h.value is not None else None] for h in (r.headers or [])],
                    "timestampTypeId": r.timestampTypeId, "timestampTypeName": r.timestampTypeName}
                if args.element_timestamps:
                    line["elementTimestamp"] = ts.micros // 1000
                return json.dumps(line)
            lines = records | beam.Map(metadata_line)
        else:
            lines = records | beam.Map(lambda kv: json.dumps([
                kv[0].decode() if kv[0] is not None else None, kv[1].decode() if kv[1] is not None else None]))
        lines | beam.io.WriteToText(os.path.join(out_dir, "out"))
    rows = []
    for path in sorted(glob.glob(os.path.join(out_dir, "out*"))):
        with open(path) as f:
            rows.extend(json.loads(line) for line in f if line.strip())
    shutil.rmtree(out_dir, ignore_errors=True)  # (main ends with os._exit: no atexit)
    return {"records": rows}


class _FormatWindow(beam.DoFn):
    def process(self, kv, window=beam.DoFn.WindowParam):
        yield (str(int(window.start)).encode(), str(kv[1]).encode())


def unbounded(args):
    """Reads without a bound, counts per 2 s event-time window, writes the counts to --results-topic, then cancels."""
    from apache_beam.transforms.window import FixedWindows
    consumer_config = {"bootstrap.servers": args.bootstrap, "auto.offset.reset": "earliest", "group.id": args.group}
    p = beam.Pipeline(options=options(args))
    (p
     | ReadFromKafka(consumer_config=consumer_config, topics=[args.topic], commit_offset_in_finalize=True,
                     timestamp_policy="CreateTime", expansion_service=args.expansion)
     | beam.WindowInto(FixedWindows(2))
     | beam.Map(lambda kv: ("all", 1))
     | beam.CombinePerKey(sum)
     | beam.ParDo(_FormatWindow()).with_output_types(tuple[bytes, bytes])
     | WriteToKafka(producer_config={"bootstrap.servers": args.bootstrap}, topic=args.results_topic,
                    expansion_service=args.expansion))
    return {"state": str(run_then_cancel(p, args.run_seconds))}


def discover(args):
    """Copies --topic to --results-topic (values upper-cased) with partition discovery, then cancels."""
    consumer_config = {"bootstrap.servers": args.bootstrap, "auto.offset.reset": "earliest"}
    p = beam.Pipeline(options=options(args))
    (p
     | ReadFromKafka(consumer_config=consumer_config, topics=[args.topic], dynamic_read_poll_interval_seconds=1,
                     expansion_service=args.expansion)
     | beam.Map(lambda kv: (kv[0], kv[1].upper())).with_output_types(tuple[bytes, bytes])
     | WriteToKafka(producer_config={"bootstrap.servers": args.bootstrap}, topic=args.results_topic,
                    expansion_service=args.expansion))
    return {"state": str(run_then_cancel(p, args.run_seconds))}


def stream(args):
    """Copies --topic to --results-topic without a bound (group --group, offsets committed in finalize), values
    upper-cased by a Python Map when --python-map is given (a Python stage between our read and write), until
    --stop-file exists; then cancels."""
    consumer_config = {"bootstrap.servers": args.bootstrap, "auto.offset.reset": "earliest", "group.id": args.group,
                       **dict(o.split("=", 1) for o in args.consumer_option)}
    p = beam.Pipeline(options=options(args))
    records = p | ReadFromKafka(consumer_config=consumer_config, topics=[args.topic], commit_offset_in_finalize=True,
                                expansion_service=args.expansion, **redistribute_kwargs(args))
    if args.python_map:
        records = records | beam.Map(lambda kv: (kv[0], kv[1].upper())).with_output_types(tuple[bytes, bytes])
    records | WriteToKafka(producer_config={"bootstrap.servers": args.bootstrap}, topic=args.results_topic,
                           expansion_service=args.expansion)
    return {"state": str(run_until_stopped(p, args.run_seconds, args.stop_file))}


def write_untyped(args):
    """A Python Map without output types in front of WriteToKafka: the service must refuse it at construction."""
    try:
        p = beam.Pipeline(options=options(args))
        (p
         | ReadFromKafka(consumer_config={"bootstrap.servers": args.bootstrap}, topics=[args.topic],
                         expansion_service=args.expansion)
         | beam.Map(lambda kv: (kv[0], kv[1].upper()))  # .upper(): Python cannot infer the type
         | WriteToKafka(producer_config={"bootstrap.servers": args.bootstrap}, topic=args.results_topic,
                        expansion_service=args.expansion))
    except Exception as e:  # the expansion error surfaces at construction
        return {"error_type": type(e).__name__, "error": str(e)}
    return {"error": None}


def expand_only(args):
    """Builds (and serializes) a pipeline with our transforms without running it."""
    p = beam.Pipeline(options=options(args))
    consumer_config = {"bootstrap.servers": args.bootstrap}
    p | "read" >> ReadFromKafka(consumer_config=consumer_config, topics=[args.topic],
                                expansion_service=args.expansion)
    p | "readmeta" >> ReadFromKafka(consumer_config=consumer_config, topics=[args.topic], with_metadata=True,
                                    expansion_service=args.expansion)
    (p | beam.Create([(b"k", b"v")]).with_output_types(tuple[bytes, bytes])
       | WriteToKafka(producer_config={"bootstrap.servers": args.bootstrap}, topic=args.topic,
                      expansion_service=args.expansion))
    proto = p.to_runner_api()
    return {"transforms": sorted(t.spec.urn for t in proto.components.transforms.values() if t.spec.urn),
            "environments": sorted(e.urn for e in proto.components.environments.values()),
            "requirements": sorted(proto.requirements)}


def bad_config(args):
    """A config our service must refuse: the user sees our message."""
    try:
        p = beam.Pipeline(options=options(args))
        p | ReadFromKafka(consumer_config={"bootstrap.servers": args.bootstrap}, topics=[args.topic],
                          key_deserializer="com.example.NoSuchDeserializer", expansion_service=args.expansion)
    except Exception as e:  # the expansion error surfaces at construction
        return {"error_type": type(e).__name__, "error": str(e)}
    return {"error": None}


MODES = {
    "write": write,
    "write-headers": write_headers,
    "read": lambda args: read(args, with_metadata=False),
    "read-metadata": lambda args: read(args, with_metadata=True),
    "expand-only": expand_only,
    "bad-config": bad_config,
    "unbounded": unbounded,
    "discover": discover,
    "write-eos": write_eos,
    "write-eos-unbounded": write_eos_unbounded,
    "stream": stream,
    "write-untyped": write_untyped,
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=list(MODES))
    parser.add_argument("--expansion", required=True)
    parser.add_argument("--job-endpoint", default="")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--group", default="kbt-xlang")
    parser.add_argument("--results-topic", default="")
    parser.add_argument("--run-seconds", type=int, default=20)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--sink-group", default="kbt-xlang-sink")
    parser.add_argument("--metadata-topic", default="")
    parser.add_argument("--window-ms", type=int, default=0)
    parser.add_argument("--no-stable-input", action="store_true", help="write-eos: requires_stable_input=False")
    parser.add_argument("--stop-file", default="")
    parser.add_argument("--python-map", action="store_true")
    parser.add_argument("--commit-offsets", action="store_true", help="read: group --group, commit_offset_in_finalize")
    parser.add_argument("--pipeline-option", action="append", default=[])
    parser.add_argument("--redistribute-keys", type=int, default=-1,
                        help="read, stream: redistribute=True over this many keys (0: the service's default count)")
    parser.add_argument("--timestamp-policy", default="ProcessingTime", help="read: ReadFromKafka's timestamp_policy")
    parser.add_argument("--element-timestamps", action="store_true",
                        help="read-metadata: each row also gives its element's timestamp (ms) as elementTimestamp")
    parser.add_argument("--consumer-option", action="append", default=[], help="KEY=VALUE added to consumer_config")
    args = parser.parse_args()
    result = MODES[args.mode](args)
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    # Done: the result is out. After a cancel, the portable runner's threads (job state stream, LOOPBACK worker)
    # may keep the interpreter alive (suspected in runs ~170 s longer than their pipeline); they have nothing left to do.
    os._exit(0)


if __name__ == "__main__":
    main()
