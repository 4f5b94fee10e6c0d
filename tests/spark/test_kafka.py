"""Kafka into governed tables through Spark's Kafka source, against a real broker (KRaft, its own JVM):
exactly once across restarts, a lost checkpoint and SIGKILL; evolving while it runs."""
import json
import shutil
import threading

import pytest
from deltalake import DeltaTable
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from lakeward.ingest.request import IngestRequest
from lakeward.runtime.aws import aws_context
from lakeward.runtime.settings import Settings
from lakeward.streaming.kafka import run_kafka
from lakeward.streaming.micro_batch import StreamSettings, StreamSink
from lakeward.streaming.runner import Accumulation
from tests.delta_protocol import check_delta_table
from tests.helpers import cli, kill_after_commits, quarantined, query
from lakeward.testing.kafka import KafkaBroker
from tests.lakes import LakeDir

pytestmark = [pytest.mark.spark, pytest.mark.aws]


@pytest.fixture(scope="module")
def broker():
    with KafkaBroker() as running:
        yield running


@pytest.fixture
def topic(broker, request):
    name = request.node.name.replace("[", "_").replace("]", "")[:100]
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    admin.create_topics([NewTopic(name, num_partitions=2, replication_factor=1)])
    admin.close()
    return name


def produce(broker, topic, messages):
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    for i, message in enumerate(messages):
        value = message if isinstance(message, bytes) else json.dumps(message).encode()
        producer.send(topic, value=value, key=str(i % 7).encode())
    producer.flush()
    producer.close()


def consume(spark, workdir, broker, topic, table="db.kafka", table_format="delta", consumer="c1", checkpoint=None,
            lake=None, **stream):
    settings = Settings.load({})
    request = IngestRequest(table, format=table_format, lake=lake or str(workdir / "lake"), govern=False)
    with aws_context(settings) as aws:
        sink = StreamSink(spark, aws, request, settings, StreamSettings(consumer, **stream))
        return run_kafka(spark, sink, topic, broker.bootstrap, None, threading.Event(), checkpoint)


def test_kafka_lands_once_evolves_and_quarantines_poison_with_its_offset(spark, workdir, glue, broker, topic):
    produce(broker, topic, [{"id": i, "amount": i, "sku": f"s{i}"} for i in range(30)] + [b"not json", b"\xff\xfe"])
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    producer.send(topic, value=None, key=b"deleted")  # a tombstone: quarantined with its offset, never a stop
    producer.flush()
    producer.close()
    first = consume(spark, workdir, broker, topic, with_metadata=True)
    assert (first.rows_read, first.rows_written, first.rows_quarantined) == (33, 30, 3)
    reasons = sorted(r["reason"] for r in quarantined(workdir / "lake", "db", "kafka"))
    assert all(f"(kafka://{topic}/" in r and " at " in r for r in reasons), reasons
    produce(broker, topic, [{"id": 100 + i, "amount": i + 0.5, "coupon": "X"} for i in range(10)])
    second = consume(spark, workdir, broker, topic, with_metadata=True)
    assert (second.rows_read, second.rows_written) == (10, 10)
    assert second.batches[0].batch == first.batches[-1].batch + 1
    changes = [c for b in second.batches for c in b.schema_changes]
    assert "added column coupon string" in changes and "widened amount bigint -> double" in changes
    assert consume(spark, workdir, broker, topic, with_metadata=True).rows_read == 0
    assert query("SELECT count(*) AS n, count(DISTINCT id) AS ids, count(stream_offset) AS offsets FROM db.kafka") == [
        {"n": 40, "ids": 40, "offsets": 40}]
    log = DeltaTable(str(workdir / "lake/db/kafka"))
    positions = json.loads(log.history(1)[0]["lakeward.positions"])
    assert positions["consumer"] == "c1" and sum(int(v) for v in positions["offsets"].values()) == 43
    check_delta_table(workdir / "lake/db/kafka")


def test_a_lost_checkpoint_resumes_from_the_offsets_the_table_holds(spark, workdir, glue, broker, topic):
    produce(broker, topic, [{"id": i} for i in range(10)])
    checkpoint = workdir / "checkpoint"
    first = consume(spark, workdir, broker, topic, "db.resume", "parquet", checkpoint=str(checkpoint))
    assert first.rows_written == 10
    shutil.rmtree(checkpoint)  # lost: a new one starts where the table says, numbering continues
    produce(broker, topic, [{"id": 10 + i} for i in range(5)])
    second = consume(spark, workdir, broker, topic, "db.resume", "parquet", checkpoint=str(checkpoint))
    assert (second.rows_written, second.batches[0].batch) == (5, first.batches[-1].batch + 1)
    assert query("SELECT count(*) AS n, count(DISTINCT id) AS ids FROM db.resume") == [{"n": 15, "ids": 15}]


def test_a_stream_into_an_s3_lake_keeps_its_spark_checkpoint_on_s3(spark, workdir, s3_lake, glue, broker, topic):
    produce(broker, topic, [{"id": i} for i in range(10)])
    first = consume(spark, workdir, broker, topic, "db.s3k", lake=s3_lake)
    produce(broker, topic, [{"id": 10 + i} for i in range(5)])
    second = consume(spark, workdir, broker, topic, "db.s3k", lake=s3_lake)
    assert (first.rows_written, second.rows_written) == (10, 5)
    assert second.batches[0].batch == first.batches[-1].batch + 1
    checkpoint = LakeDir(s3_lake) / "db" / "s3k" / "_lakeward" / "checkpoints" / "c1"
    assert {f.relative_to(checkpoint).split("/")[0] for f in checkpoint.rglob("*")} >= {"offsets", "commits", "sources"}
    assert query("SELECT count(*) AS n, count(DISTINCT id) AS ids FROM db.s3k") == [{"n": 15, "ids": 15}]
    check_delta_table(LakeDir(s3_lake) / "db" / "s3k")


def test_the_cli_consumes_a_topic_and_a_killed_consumer_loses_nothing(workdir, glue, broker, topic):
    import os
    import subprocess
    import sys

    def consumer(*extra):
        return subprocess.Popen([sys.executable, "-m", "lakeward.cli", "stream", "kafka", topic, "--bootstrap-servers",
                                 broker.bootstrap, "--table", "db.kcli", "--lake", str(workdir / "lake"), "--format",
                                 "delta", "--no-govern", *extra], cwd=workdir, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=dict(os.environ))

    def send(first):
        produce(broker, topic, [{"id": first + i} for i in range(25)])
        return 25

    # 10 consumers (and 10 with Kinesis) killed once each has committed, at a random moment of what follows
    sent = kill_after_commits(lambda: consumer("--trigger", "200ms"), send, workdir / "lake/db/kcli/_delta_log",
                              trials=10, seed=3)
    finish = cli("stream", "kafka", topic, "--bootstrap-servers", broker.bootstrap, "--table", "db.kcli",
                 "--lake", str(workdir / "lake"), "--trigger", "available-now", "--no-govern", "--format", "delta",
                 "--report", str(workdir / "k.json"))
    assert finish.exit_code == 0, finish.output
    assert query("SELECT count(*) AS n, count(DISTINCT id) AS ids FROM db.kcli") == [{"n": sent, "ids": sent}]
    check_delta_table(workdir / "lake/db/kcli")


def test_a_broker_restart_while_streaming_is_survived(spark, workdir, glue, broker, topic):
    import time

    settings = Settings.load({})
    request = IngestRequest("db.restart", format="delta", lake=str(workdir / "lake"), govern=False)
    stop = threading.Event()
    produce(broker, topic, [{"id": i} for i in range(10)])
    with aws_context(settings) as aws:
        sink = StreamSink(spark, aws, request, settings, StreamSettings("r"))
        result = {}
        running = threading.Thread(target=lambda: result.update(report=run_kafka(
            spark, sink, topic, broker.bootstrap, 0.5, stop)))
        running.start()

        def landed():
            try:
                return query("SELECT count(*) AS n FROM db.restart")[0]["n"]
            except AssertionError:
                return 0

        deadline = time.monotonic() + 90
        while landed() < 10 and time.monotonic() < deadline:
            time.sleep(0.5)
        broker.restart()
        produce(broker, topic, [{"id": 10 + i} for i in range(10)])
        while landed() < 20 and time.monotonic() < deadline + 60:
            time.sleep(0.5)
        stop.set()
        running.join(timeout=120)
    assert result["report"].stopped_by == "stop"
    assert query("SELECT count(*) AS n, count(DISTINCT id) AS ids FROM db.restart") == [{"n": 20, "ids": 20}]


def test_a_new_checkpoint_starts_a_partition_the_table_holds_nothing_from_at_its_beginning(
        spark, workdir, glue, broker, topic):
    def send(first, count, partition):
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
        for i in range(first, first + count):
            producer.send(topic, value=json.dumps({"id": i}).encode(), partition=partition)
        producer.flush()
        producer.close()

    send(0, 10, partition=0)  # the table will hold an offset for partition 0 only
    checkpoint = workdir / "checkpoint"
    assert consume(spark, workdir, broker, topic, "db.gap", "parquet", checkpoint=str(checkpoint)).rows_written == 10
    shutil.rmtree(checkpoint)
    send(10, 5, partition=1)
    send(15, 5, partition=0)
    again = consume(spark, workdir, broker, topic, "db.gap", "parquet", checkpoint=str(checkpoint))
    assert again.rows_written == 10
    assert query("SELECT count(*) AS n, count(DISTINCT id) AS ids FROM db.gap") == [{"n": 20, "ids": 20}]


def test_a_micro_batch_below_the_minimum_waits_for_the_delay(spark, workdir, glue, broker, topic):
    """Spark's own accumulation (minOffsetsPerTrigger, maxTriggerDelay): the delay runs from the last
    micro-batch, and the first one after a start is not held."""
    import time

    settings = Settings.load({})
    request = IngestRequest("db.held", format="delta", lake=str(workdir / "lake"), govern=False)
    produce(broker, topic, [{"id": i} for i in range(5)])
    stop, seen = threading.Event(), []

    def status(report, summary):
        seen.append((summary.rows_read, stop.is_set(), time.monotonic(), summary.timings["micro_batch_s"]))
        if len(seen) == 1:
            produce(broker, topic, [{"id": 5 + i} for i in range(5)])
            seen.append(time.monotonic())
        else:
            stop.set()

    timer = threading.Timer(90, stop.set)
    timer.start()
    with aws_context(settings) as aws:
        sink = StreamSink(spark, aws, request, settings, StreamSettings("held"))
        report = run_kafka(spark, sink, topic, broker.bootstrap, 0.2, stop, status=status,
                           accumulation=Accumulation(min_records=1000, max_delay_s=10.0))
    timer.cancel()
    first, produced, second = seen
    assert (first[:2], second[:2]) == ((5, False), (5, False))  # both written while running, by the delay
    # held back: without the minimum the next trigger (0.2 s) takes them, about two micro-batches after the
    # first began; with it, Spark's delay runs from when the first was planned: 10 s from its start
    first_started = first[2] - first[3]
    assert second[2] - first_started >= 9.5, (first, produced, second)
    assert report.batches[-1].lag_records == {f"{topic}/0": 0, f"{topic}/1": 0}  # the status line's lag
    assert query("SELECT count(*) AS n, count(DISTINCT id) AS ids FROM db.held") == [{"n": 10, "ids": 10}]
