"""Kafka (or MSK) through Spark Structured Streaming's own Kafka source, every micro-batch into the sink.

Spark's checkpoint fixes each micro-batch's offset range, so a replayed micro-batch brings the same
records; lakeward numbers micro-batches ``base + Spark's batch id``, where ``base`` is written once into
the checkpoint (``lakeward.json``) when the checkpoint is created: the table's last committed batch + 1.
A checkpoint that is lost is therefore not a loss: a new one starts from the offsets the table holds
(``startingOffsets``) and continues the numbering. The positions committed with each micro-batch are the
next offset per topic partition.
"""
from __future__ import annotations

import json
import threading
import time

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakeward.errors import SourceError
from lakeward.runtime.storage import Storage, join
from lakeward.streaming.micro_batch import StreamSink
from lakeward.streaming.runner import Accumulation, Status, StreamReport, after_commit, warm

BASE_FILE = "lakeward.json"


def kafka_messages(frame: DataFrame) -> DataFrame:
    """Spark's Kafka rows as lakeward's message columns."""
    return frame.select(F.col("value").alias("value"),
                        F.concat(F.lit("kafka://"), F.col("topic"), F.lit("/"), F.col("partition")).alias("source"),
                        F.col("offset").cast("string").alias("position"), F.col("key").cast("string").alias("key"),
                        F.col("timestamp").alias("arrival_time"))


def _next_offsets(frame: DataFrame) -> dict[str, str]:
    """Per topic partition of the micro-batch, the offset the next one starts at (a handful of rows)."""
    rows = frame.groupBy("topic", "partition").agg(F.max("offset").alias("last")).collect()
    return {f"{r['topic']}/{r['partition']}": str(r["last"] + 1) for r in rows}


def _starting_offsets(spark: SparkSession, topic: str, offsets: dict[str, str], start: str,
                      kafka: dict[str, str]) -> str:
    """Where a new Spark checkpoint starts: the offsets the table holds, per partition. Spark wants every
    partition of the topic named, so a partition the table holds nothing from (added since, or never
    written to) starts at its earliest offset (-2): its records were never taken."""
    mine = {k.split("/", 1)[1]: int(v) for k, v in offsets.items() if k.split("/", 1)[0] == topic}
    earliest = start in ("earliest", "trim_horizon")
    if not mine:
        return "earliest" if earliest else "latest"
    client = KafkaClient(spark, topic, kafka)
    try:
        partitions = [str(p) for p in client.partitions()]
    finally:
        client.close()
    # -2: earliest, -1: latest (a consumer started at latest skips what it never took, as it did at its start);
    # a partition the table holds that the topic no longer has is left out (Spark refuses unknown ones)
    return json.dumps({topic: {p: mine.get(p, -2 if earliest else -1) for p in partitions}})


class KafkaClient:
    """A Kafka consumer of the JVM, from the client Spark's connector brings, with the stream's ``kafka.*``
    settings (so MSK's IAM or TLS options apply): the topic's partitions and their end offsets."""

    def __init__(self, spark: SparkSession, topic: str, kafka: dict[str, str]):
        jvm = spark.sparkContext._jvm
        props = jvm.java.util.Properties()
        for key, value in kafka.items():
            if key.startswith("kafka."):
                props.put(key.removeprefix("kafka."), value)
        for key in ("key.deserializer", "value.deserializer"):
            props.put(key, "org.apache.kafka.common.serialization.ByteArrayDeserializer")
        self.jvm, self.topic, self.where = jvm, topic, f"Kafka topic {topic} at {kafka.get('kafka.bootstrap.servers')}"
        self.consumer = jvm.org.apache.kafka.clients.consumer.KafkaConsumer(props)

    def partitions(self, timeout_s: int = 30) -> list[int]:
        try:
            infos = self.consumer.partitionsFor(self.topic, self.jvm.java.time.Duration.ofSeconds(timeout_s))
        except Exception as e:  # py4j carries the client's error
            raise SourceError(f"{self.where}: cannot list its partitions: {str(e).splitlines()[0]}") from None
        return sorted(int(info.partition()) for info in infos) if infos is not None else []

    def lag(self, offsets: dict[str, str]) -> dict[str, int]:
        """Records behind the end of each partition, after the offsets taken (empty when the brokers do not
        answer within a few seconds: the status line is not worth stalling a stream for)."""
        try:
            parts = self.jvm.java.util.ArrayList()
            for p in self.partitions(timeout_s=2):
                parts.add(self.jvm.org.apache.kafka.common.TopicPartition(self.topic, p))
            ends = self.consumer.endOffsets(parts, self.jvm.java.time.Duration.ofSeconds(2))
            return {f"{self.topic}/{tp.partition()}": max(0, int(ends.get(tp)) - int(offsets.get(
                f"{self.topic}/{tp.partition()}", 0))) for tp in ends.keySet()}
        except Exception:  # noqa: BLE001 - see above
            return {}

    def close(self) -> None:
        self.consumer.close()


def run_kafka(spark: SparkSession, sink: StreamSink, topic: str, bootstrap: str, trigger_s: float | None,
              stop: threading.Event, checkpoint: str | None = None, start: str = "earliest",
              status: Status | None = None, options: dict[str, str] | None = None,
              accumulation: Accumulation = Accumulation()) -> StreamReport:
    """Consume ``topic`` into the sink's table until ``stop`` is set, or (``trigger_s`` None) until what
    the topic holds now is taken."""
    storage = Storage.for_aws(sink.aws)
    resumed = sink.resume()
    location = checkpoint or sink.default_checkpoint()
    marker = join(location, BASE_FILE)
    if storage.exists(marker):
        base = int(storage.read_json(marker)["base"])
    else:
        base = resumed.batch + 1 if resumed else 0
        storage.write_json(marker, {"base": base, "consumer": sink.stream.consumer})
    offsets = dict(resumed.offsets) if resumed else {}
    report = StreamReport(sink.request.table, f"kafka://{topic}", sink.stream.consumer)
    kafka = {"kafka.bootstrap.servers": bootstrap, **(options or {})}
    if accumulation.min_records:  # Spark's own: a micro-batch waits for that many offsets, or the delay
        kafka |= {"minOffsetsPerTrigger": str(accumulation.min_records),
                  "maxTriggerDelay": f"{int(accumulation.max_delay_s * 1000)}ms"}
    starting = _starting_offsets(spark, topic, offsets, start, kafka)
    warm(spark, report, trigger_s)
    reader = (spark.readStream.format("kafka").options(**kafka).option("subscribe", topic)
              .option("startingOffsets", starting).option("failOnDataLoss", "false").load())

    def batch(frame: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        frame = frame.persist()  # read once from the brokers: offsets, inference, parse and write all use it
        try:
            taken = _next_offsets(frame)
            if not taken:  # an empty micro-batch
                return
            positions = {**offsets, **taken}
            result = sink.write_messages(kafka_messages(frame), base + batch_id, positions, f"kafka://{topic}")
            offsets.update(positions)
            summary = report.add(base + batch_id, result, {})
            summary.lag_records = client.lag(offsets) if client else {}
            summary.timings["micro_batch_s"] = round(time.monotonic() - started, 3)  # all of it, Spark's jobs too
            after_commit(sink, report, summary, status)
        finally:
            frame.unpersist()

    writer = reader.writeStream.foreachBatch(batch).option("checkpointLocation", _spark_uri(location))
    writer = writer.trigger(availableNow=True) if trigger_s is None else writer.trigger(processingTime=f"{trigger_s} seconds")
    client = KafkaClient(spark, topic, kafka) if trigger_s is not None else None  # the lag on the status line
    try:
        query = writer.start()
        try:
            while query.isActive and not stop.is_set():
                query.awaitTermination(0.5)
        finally:
            deadline = time.monotonic() + 120
            while query.isActive and query.status.get("isTriggerActive") and time.monotonic() < deadline:
                time.sleep(0.2)  # the micro-batch in flight is committed first
            if query.isActive:
                query.stop()
    finally:
        if client:
            client.close()
    failure = query.exception()
    if failure is not None:
        raise SourceError(f"Kafka topic {topic} at {bootstrap}: the stream failed: {failure.desc()}") from None
    report.stopped_by = "stop" if stop.is_set() else "drained"
    return report


def _spark_uri(uri: str) -> str:
    return uri.removeprefix("file://") if uri.startswith("file://") else uri.replace("s3://", "s3a://", 1)

