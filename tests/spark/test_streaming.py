"""Streams into governed tables: Kinesis (the moto server over HTTP) and a landing folder, exactly once,
evolving while they run, poison messages quarantined with their positions."""
import gzip
import json
import re
import threading

import boto3
import pytest
from deltalake import DeltaTable

from lakeward.errors import SpecError
from lakeward.ingest.request import IngestRequest
from lakeward.runtime.aws import aws_context
from lakeward.runtime.settings import Settings
from lakeward.streaming.micro_batch import StreamSettings, StreamSink
from lakeward.streaming.runner import Accumulation, run_files, run_kinesis
from lakeward.tables.write_modes import WriteSettings
from tests.delta_protocol import check_delta_table
from tests.helpers import cli, ingest, kill_after_commits, quarantined, query

pytestmark = [pytest.mark.spark, pytest.mark.aws]


@pytest.fixture
def kinesis(aws_env):
    client = boto3.client("kinesis", endpoint_url=aws_env, region_name="us-east-1")
    client.create_stream(StreamName="orders", ShardCount=2)
    return client


def put(client, records, key=lambda i: f"k{i}"):
    for i, record in enumerate(records):
        data = record if isinstance(record, bytes) else json.dumps(record).encode()
        client.put_record(StreamName="orders", Data=data, PartitionKey=key(i))


def sink(spark, workdir, table_format="delta", consumer="c1", **stream):
    settings = Settings.load({})
    request = IngestRequest("db.events", format=table_format, lake=str(workdir / "lake"), govern=False)
    return settings, request, StreamSettings(consumer, **stream)


def drain(spark, settings, request, stream_settings):
    with aws_context(settings) as aws:
        return run_kinesis(spark, StreamSink(spark, aws, request, settings, stream_settings), "orders", None,
                           threading.Event())


@pytest.mark.parametrize("table_format", ["delta", "parquet"])
def test_kinesis_lands_every_record_once_and_quarantines_poison_with_its_position(spark, workdir, glue, kinesis,
                                                                                  table_format):
    put(kinesis, [{"id": i, "amount": i, "sku": f"s{i}"} for i in range(40)])
    put(kinesis, [b"not json", b"\xff\xfe\x00bad", gzip.compress(json.dumps({"id": 40, "amount": 40}).encode()),
                  b'{"id": 41}{"id": 42}', b'[{"id": 43, "amount": 43}, {"id": 44, "amount": 44}]'])
    settings, request, stream = sink(spark, workdir, table_format, with_metadata=True)
    first = drain(spark, settings, request, stream)
    assert (first.rows_read, first.rows_written, first.rows_quarantined) == (46, 43, 3)
    reasons = sorted(r["reason"] for r in quarantined(workdir / "lake", "db", "events"))
    assert reasons[0].startswith("message is not UTF-8 text; kept as base64 (kinesis://orders/shardId-")
    assert sum("not a JSON value" in r for r in reasons) == 2
    assert all(re.search(r"\(kinesis://orders/shardId-\d+ at \d+\)$", r) for r in reasons)  # shard and sequence
    # new fields and int -> double drift arrive while the consumer is away: the next run resumes and evolves
    put(kinesis, [{"id": 100 + i, "amount": i + 0.5, "coupon": "X"} for i in range(10)])
    second = drain(spark, settings, request, stream)
    assert (second.rows_read, second.rows_written, second.replayed) == (10, 10, [])
    assert second.batches[0].batch == first.batches[-1].batch + 1
    assert "added column coupon string" in second.batches[0].schema_changes
    rows = query("SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(amount) AS total, "
                 "count(stream_offset) AS positions FROM db.events")
    assert rows == [{"n": 53, "ids": 53, "total": sum(range(40)) + 40 + 43 + 44 + sum(i + 0.5 for i in range(10)),
                     "positions": 53}]
    columns = [c["Name"] for c in glue.get_table(DatabaseName="db", Name="events")["Table"]["StorageDescriptor"]["Columns"]]
    assert columns[:3] == ["id", "amount", "sku"] and "stream_partition" in columns and columns[-1] == "coupon"
    assert drain(spark, settings, request, stream).rows_read == 0  # nothing new: nothing read, nothing twice
    if table_format == "delta":
        log = DeltaTable(str(workdir / "lake/db/events"))
        assert log.transaction_version("lakeward:consumer:c1") == second.batches[-1].batch
        check_delta_table(workdir / "lake/db/events")


def test_a_replayed_micro_batch_is_a_no_op_and_consumers_are_independent(spark, workdir, glue, kinesis):
    put(kinesis, [{"id": i} for i in range(5)])
    settings, request, stream = sink(spark, workdir)
    drain(spark, settings, request, stream)
    with aws_context(settings) as aws:
        replay = StreamSink(spark, aws, request, settings, stream)
        committed = replay.resume()
        frame = spark.createDataFrame([(b'{"id": 99}', "kinesis://orders/shardId-x", "1", "k", None)],
                                      "value binary, source string, position string, key string, arrival_time timestamp")
        again = replay.write_messages(frame, committed.batch, committed.offsets, "kinesis://orders")
        assert again.already_committed and again.rows_written == 0  # Glue replays a failed window: a no-op
        with pytest.raises(SpecError, match="comes from a reset checkpoint"):  # never taken as a replay
            replay.write_messages(frame, committed.batch, {"shardId-x": "1"}, "kinesis://orders")
    other = IngestRequest("db.copy", format="parquet", lake=str(workdir / "lake"), govern=False)
    copied = drain(spark, settings, other, StreamSettings("c2"))
    assert copied.rows_written == 5
    assert query("SELECT count(*) AS n FROM db.events") == query("SELECT count(*) AS n FROM db.copy") == [{"n": 5}]


def test_the_cli_streams_until_drained_and_writes_the_report(workdir, glue, kinesis):
    put(kinesis, [{"id": i, "note": "x" * i} for i in range(12)])
    result = cli("stream", "kinesis", "orders", "--table", "db.cli", "--lake", str(workdir / "lake"),
                 "--trigger", "available-now", "--payload", "text", "--report", str(workdir / "r.json"))
    assert result.exit_code == 0, result.output
    report = json.loads((workdir / "r.json").read_text())
    assert (report["rows_read"], report["rows_written"], report["rows_quarantined"]) == (12, 12, 0)
    assert report["stopped_by"] == "drained"
    assert query("SELECT count(*) AS n FROM db.cli WHERE message LIKE '{\"id\"%'") == [{"n": 12}]
    bad = cli("stream", "kinesis", "missing", "--table", "db.cli", "--trigger", "available-now",
              "--lake", str(workdir / "lake"))
    assert bad.exit_code == 2 and "Kinesis stream missing does not exist" in bad.output


def test_a_landing_folder_is_taken_once_beside_a_backfill(spark, workdir, glue):
    landing = workdir / "landing"
    landing.mkdir()
    (landing / "a.json").write_text("\n".join(json.dumps({"id": i, "v": i}) for i in range(5)) + "\n")
    settings, request, stream = sink(spark, workdir, "delta", consumer="landing")
    request = IngestRequest("db.landed", source=str(landing), format="delta", lake=str(workdir / "lake"), govern=False)
    with aws_context(settings) as aws:
        first = run_files(StreamSink(spark, aws, request, settings, stream), str(landing), None, threading.Event())
    assert (first.rows_written, len(first.batches)) == (5, 1)
    (landing / "b.csv").write_text("id,v\n5,5.5\n6,6.5\n")
    backfill = ingest(landing, "db.landed", workdir / "lake")  # a batch ingest beside the stream takes b.csv
    assert backfill["rows_written"] == 2
    (landing / "c.json.gz").write_bytes(gzip.compress(b'{"id": 7, "v": 7}\n'))
    with aws_context(settings) as aws:
        second = run_files(StreamSink(spark, aws, request, settings, stream), str(landing), None, threading.Event())
    assert (second.rows_written, second.batches[0].batch) == (1, 1)  # only c.json.gz: b.csv is not taken twice
    assert query("SELECT count(*) AS n, count(DISTINCT id) AS ids FROM db.landed") == [{"n": 8, "ids": 8}]


def _consumer(workdir, *extra):
    import os
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-m", "lakeward.cli", "stream", "kinesis", "orders", "--table",
                             "db.live", "--lake", str(workdir / "lake"), "--format", "delta", "--no-govern", *extra],
                            cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))


def test_sigterm_stops_after_the_batch_in_flight_and_sigkill_loses_and_doubles_nothing(workdir, glue, kinesis):
    import signal
    import time

    put(kinesis, [{"id": i} for i in range(20)])
    running = _consumer(workdir, "--trigger", "500ms", "--report", str(workdir / "live.json"))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (workdir / "lake/db/live/_delta_log").exists():
        time.sleep(0.5)
    time.sleep(1.0)
    running.send_signal(signal.SIGTERM)
    out, err = running.communicate(timeout=120)
    assert running.returncode == 0, err
    report = json.loads((workdir / "live.json").read_text())
    assert report["stopped_by"] == "stop" and report["rows_written"] == 20, err
    def send(first):
        put(kinesis, [{"id": 20 + first + i} for i in range(15)])
        return 15

    # 10 consumers (and 10 with Kafka) killed once each has committed, at a random moment of what follows
    sent = 20 + kill_after_commits(lambda: _consumer(workdir, "--trigger", "200ms"), send,
                                   workdir / "lake/db/live/_delta_log", trials=10, seed=7)
    finish = cli("stream", "kinesis", "orders", "--table", "db.live", "--lake", str(workdir / "lake"),
                 "--trigger", "available-now", "--no-govern")
    assert finish.exit_code == 0, finish.output
    assert query("SELECT count(*) AS n, count(DISTINCT id) AS ids, max(id) AS top FROM db.live") == [
        {"n": sent, "ids": sent, "top": sent - 1}]
    check_delta_table(workdir / "lake/db/live")


def test_the_glue_streaming_script_runs_locally_with_lakewards_consumer(workdir, glue, kinesis):
    from streaming_jobs.stream import main

    put(kinesis, [{"id": i, "email": f"user{i}@example.com"} for i in range(30)])
    status = main(["stream.py", "--JOB_NAME", "local", "--source_type", "kinesis", "--source", "orders",
                   "--table", "db.glue_stream", "--lake", str(workdir / "lake"), "--format", "delta",
                   "--window_size", "available-now", "--report", str(workdir / "g.json")])
    assert status == 0
    report = json.loads((workdir / "g.json").read_text())
    assert (report["rows_read"], report["rows_written"]) == (30, 30)
    columns = glue.get_table(DatabaseName="db", Name="glue_stream")["Table"]["StorageDescriptor"]["Columns"]
    assert {c["Name"]: c.get("Parameters", {}).get("pii") for c in columns}["email"] == "EMAIL"  # governed
    assert main(["stream.py", "--JOB_NAME", "local", "--source_type", "mq", "--source", "x", "--table", "db.t"]) == 2
    for bad in (["--window_size", "soon"], ["--payload", "Text"], ["--compact_every", "ten"]):
        assert main(["stream.py", "--JOB_NAME", "local", "--source_type", "kinesis", "--source", "orders",
                     "--table", "db.t", *bad]) == 2


def test_debezium_change_events_merge_into_a_table_equal_to_the_source(spark, workdir, glue, kinesis):
    source: dict[int, dict] = {}
    events = []

    def change(op, row, before=None):
        events.append({"before": before, "after": None if op == "d" else row, "op": op, "ts_ms": len(events),
                       "source": {"table": "customers"}})
        if op == "d":
            source.pop(before["id"])
        else:
            source[row["id"]] = row

    for i in range(20):
        change("c", {"id": i, "name": f"n{i}", "tier": i % 3})
    for i in (3, 7, 3, 11):  # key 3 changed twice in one batch: the later change wins
        change("u", {"id": i, "name": f"renamed{len(events)}", "tier": 9}, source[i])
    change("d", None, source[5])
    # as Kafka Connect's JSON converter with schemas writes them (a payload wrapper); one shard: source order
    put(kinesis, [{"schema": {"type": "struct"}, "payload": e} for e in events], key=lambda i: "one")
    settings = Settings.load({})
    request = IngestRequest("db.customers", format="delta", lake=str(workdir / "lake"), govern=False,
                            write=WriteSettings("merge", ("id",), "op"))
    first = drain(spark, settings, request, StreamSettings("cdc", payload="debezium"))
    assert first.rows_quarantined == 0
    change("d", None, source[0])
    change("u", {"id": 11, "name": "last", "tier": 1}, source[11])
    change("c", {"id": 5, "name": "back", "tier": 2})  # a deleted key comes back
    change("u", {"id": 7, "name": None, "tier": 9}, source[7])  # set to NULL: not the value before
    put(kinesis, events[-4:], key=lambda i: "one")
    drain(spark, settings, request, StreamSettings("cdc", payload="debezium"))
    rows = {r["id"]: (r["name"], r["tier"]) for r in DeltaTable(str(workdir / "lake/db/customers")).to_pyarrow_table().to_pylist()}
    assert rows == {k: (v["name"], v["tier"]) for k, v in source.items()}


def test_small_files_of_micro_batches_are_compacted_while_the_stream_runs(spark, workdir, glue, kinesis):
    put(kinesis, [{"id": i, "day": f"d{i % 2}"} for i in range(48)], key=lambda i: "one")
    settings = Settings.load({})
    request = IngestRequest("db.small", format="delta", partition_by="day", lake=str(workdir / "lake"), govern=False)
    with aws_context(settings) as aws:
        sink = StreamSink(spark, aws, request, settings, StreamSettings("s", compact_every=3))
        report = run_kinesis(spark, sink, "orders", None, threading.Event(), limit_per_shard=8)
    assert len(report.batches) == 6 and report.rows_written == 48
    assert [b.batch for b in report.batches if b.compacted] == [2, 5]
    live = check_delta_table(workdir / "lake/db/small")["files"]
    assert len(live) == 2  # one file per partition after the last compaction (12 were written)
    assert query("SELECT count(*) AS n, count(DISTINCT id) AS ids FROM db.small") == [{"n": 48, "ids": 48}]


def test_micro_batches_accumulate_to_a_size_and_a_held_back_record_waits_no_longer_than_the_delay(
        spark, workdir, glue, kinesis):
    put(kinesis, [{"id": i} for i in range(1000)])
    settings, request, stream = sink(spark, workdir)
    with aws_context(settings) as aws:
        sized = run_kinesis(spark, StreamSink(spark, aws, request, settings, stream), "orders", None,
                            threading.Event(), limit_per_shard=100, accumulation=Accumulation(min_records=300))
    sizes = [b.rows_read for b in sized.batches]
    assert sum(sizes) == 1000 and all(n >= 300 for n in sizes[:-1]) and len(sizes) <= 4, sizes  # a poll brings <= 200
    put(kinesis, [{"id": 1000 + i} for i in range(7)])  # far below the size: written once the delay passed
    stop, seen = threading.Event(), []

    def status(report, summary):
        seen.append((summary.rows_read, stop.is_set()))
        stop.set()

    timer = threading.Timer(60, stop.set)  # a stream that never wrote would end here, failing below
    timer.start()
    with aws_context(settings) as aws:
        delayed = run_kinesis(spark, StreamSink(spark, aws, request, settings, stream), "orders", 0.1, stop,
                              status=status, accumulation=Accumulation(min_records=10_000, max_delay_s=1.0))
    timer.cancel()
    assert seen == [(7, False)] and delayed.warm_up_s is not None  # written by the delay, not by the stop
    assert query("SELECT count(*) AS n, count(DISTINCT id) AS ids FROM db.events") == [{"n": 1007, "ids": 1007}]


def test_optimize_runs_while_the_stream_writes_and_neither_loses_a_commit(spark, workdir, glue, kinesis):
    import signal
    import time

    log = workdir / "lake/db/live/_delta_log"
    running = _consumer(workdir, "--trigger", "200ms", "--compact-every", "0", "--report", str(workdir / "o.json"))
    sent, compactions = 0, 0

    def commits():
        return len(list(log.glob("*.json"))) if log.exists() else 0

    for _ in range(2):
        for _ in range(3):  # three micro-batches, three small files
            before = commits()
            put(kinesis, [{"id": sent + i} for i in range(10)])
            sent += 10
            deadline = time.monotonic() + 120
            while commits() == before and time.monotonic() < deadline:
                time.sleep(0.1)
        put(kinesis, [{"id": sent + i} for i in range(10)])  # in flight while optimize runs
        sent += 10
        result = cli("optimize", "db.live")
        assert result.exit_code == 0, result.output
        compactions += "compacted" in result.output and "rows rewritten" in result.output
    put(kinesis, [{"id": sent + i} for i in range(10)])
    sent += 10
    time.sleep(2.0)
    running.send_signal(signal.SIGTERM)
    _, err = running.communicate(timeout=120)
    assert running.returncode == 0, err
    finish = cli("stream", "kinesis", "orders", "--table", "db.live", "--lake", str(workdir / "lake"),
                 "--trigger", "available-now", "--no-govern")  # whatever the stop left behind
    assert finish.exit_code == 0, finish.output
    assert compactions >= 1
    assert query("SELECT count(*) AS n, count(DISTINCT id) AS ids FROM db.live") == [{"n": sent, "ids": sent}]
    operations = [json.loads(line) for p in sorted(log.glob("*.json")) for line in p.read_text().splitlines()]
    removed = {a["remove"]["path"] for a in operations if "remove" in a}
    assert removed and not removed & set(check_delta_table(workdir / "lake/db/live")["files"])
