"""Beam's ReadFromKafka / WriteToKafka (and managed Kafka), unchanged but for the default expansion service."""
from apache_beam.io import kafka as beam_kafka
from apache_beam.transforms import managed

from kafka_beam_ts.service import default_expansion_service


class ReadFromKafka(beam_kafka.ReadFromKafka):
    """``apache_beam.io.kafka.ReadFromKafka``, expanded by kafka-beam-ts (started on demand unless given)."""
    def __init__(self, *args, expansion_service=None, **kwargs):
        super().__init__(*args, expansion_service=expansion_service or default_expansion_service(), **kwargs)


class WriteToKafka(beam_kafka.WriteToKafka):
    """``apache_beam.io.kafka.WriteToKafka``, expanded by kafka-beam-ts (started on demand unless given)."""
    def __init__(self, *args, expansion_service=None, **kwargs):
        super().__init__(*args, expansion_service=expansion_service or default_expansion_service(), **kwargs)


def managed_read(config, expansion_service=None, **kwargs):
    """``managed.Read(managed.KAFKA, config=...)`` served by kafka-beam-ts (formats RAW, JSON and AVRO)."""
    return managed.Read(managed.KAFKA, config=config, expansion_service=expansion_service or default_expansion_service(),
                        **kwargs)


def managed_write(config, expansion_service=None, **kwargs):
    """``managed.Write(managed.KAFKA, config=...)`` served by kafka-beam-ts (formats RAW, JSON and AVRO)."""
    return managed.Write(managed.KAFKA, config=config, expansion_service=expansion_service or default_expansion_service(),
                         **kwargs)
