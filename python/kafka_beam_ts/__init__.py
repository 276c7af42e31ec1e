"""Beam's own Kafka transforms, expanded and run by kafka-beam-ts: change one import, no JVM.

    from kafka_beam_ts import ReadFromKafka, WriteToKafka   # instead of apache_beam.io.kafka

Without an ``expansion_service=`` argument, the transforms use a kafka-beam-ts service that this package starts on
demand (once per ``with beam.Pipeline()`` block, on a free port, stopped with it), as Beam does for its Java
services. The Node CLI is found from ``$KAFKA_BEAM_TS_CLI``, then ``kafka-beam-ts`` on the ``PATH``, then ``npx``.
"""
from kafka_beam_ts.service import ExpansionService, default_expansion_service
from kafka_beam_ts.transforms import ReadFromKafka, WriteToKafka, managed_read, managed_write

__all__ = [
    "ExpansionService",
    "ReadFromKafka",
    "WriteToKafka",
    "default_expansion_service",
    "managed_read",
    "managed_write",
]
__version__ = "0.1.0"
