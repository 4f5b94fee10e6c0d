"""``lakeward stream kafka|kinesis|files``: consume a stream into a governed table, micro-batch by micro-batch."""
from __future__ import annotations

import re
import threading
from typing import Any

import click

from lakeward.cli.common import _clear_errors, console, err_console


def parse_trigger(text: str, option: str = "--trigger") -> float | None:
    """``5s``, ``500ms``, ``2m`` -> seconds; ``available-now`` -> None (drain and stop)."""
    if text == "available-now" and option == "--trigger":
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(ms|s|m)?", text.strip())
    if not m:
        from lakeward.errors import SpecError

        raise SpecError(f"{option} {text!r}: expected a duration such as 5s, 500ms, 1m"
                        + (", or available-now" if option == "--trigger" else ""))
    value = float(m.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}[m.group(2)]
    return value


def _common(f: Any) -> Any:
    options = [
        click.option("--table", required=True, help="Target table DB.TABLE (created when missing)."),
        click.option("--format", "table_format", type=click.Choice(["parquet", "delta"]),
                     help="Format of a new table (default parquet); an existing table keeps its own."),
        click.option("--partition-by", help="As for ingest: COL[,COL...] or NAME=TRANSFORM(COL)."),
        click.option("--lake", help="Lake root where new tables are created [default: $LAKEWARD_LAKE, else ./lake]."),
        click.option("--mode", type=click.Choice(["append", "merge"]), help="append [default], or merge (Delta) on "
                                                                           "--merge-key, per micro-batch."),
        click.option("--merge-key", "merge_keys", multiple=True, metavar="COL"),
        click.option("--change-column", metavar="COL", help="Merge: the I/U/D column (AWS DMS's Op)."),
        click.option("--order-by", metavar="COL", help="Merge: of several changes to a key in a micro-batch, the "
                                                       "greatest wins (else the last in stream order)."),
        click.option("--trigger", default="5s", show_default=True,
                     help="Time between micro-batches (5s, 500ms, 1m), or available-now: drain and stop."),
        click.option("--consumer", default="lakeward", show_default=True,
                     help="Consumer name: its positions are kept with the table; several consumers of one stream "
                          "into different tables are independent."),
        click.option("--no-govern", is_flag=True, help="Skip PII classification and Lake Formation tagging."),
        click.option("--compact-every", type=click.IntRange(min=0), default=50, show_default=True,
                     help="Compact the table's small files (lakeward optimize) after every N micro-batches; 0: never."),
        click.option("--report", "report_path", type=click.Path(dir_okay=False),
                     help="Write the run's JSON report (totals over its micro-batches) when it stops."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@click.group()
def stream() -> None:
    """Consume a stream into DB.TABLE: one micro-batch per trigger, exactly once (the consumer's positions are
    committed with the data), the schema evolving while it runs. Ctrl-C or SIGTERM stops after the micro-batch
    in flight."""


def _status(report: Any, summary: Any) -> None:
    rate = summary.rows_read / summary.duration_s if summary.duration_s else 0.0
    lag = ", ".join([f"{k.rsplit('/', 1)[-1]} {v} ms" for k, v in summary.lag_ms.items()]
                    + [f"partition {k.rsplit('/', 1)[-1]} {v} records" for k, v in summary.lag_records.items()])
    err_console.print(f"batch {summary.batch}: {summary.rows_read} read ({rate:,.0f}/s), {summary.rows_written} "
                      f"written, {summary.rows_quarantined} quarantined, committed in {summary.duration_s:.2f}s"
                      + (f"; lag {lag}" if lag else "")
                      + "".join(f"\n  schema: {c}" for c in summary.schema_changes)
                      + (f"\n  compacted: {', '.join(summary.compacted)}" if summary.compacted else ""))


def _run(kind: str, source: str, options: dict[str, Any], extra: dict[str, Any]) -> None:
    with _clear_errors():
        from lakeward.ingest.request import IngestRequest, Origin
        from lakeward.runtime.aws import aws_context
        from lakeward.runtime.settings import Settings
        from lakeward.runtime.spark import spark_session, start_spark
        from lakeward.streaming.micro_batch import StreamSettings, StreamSink
        from lakeward.streaming.kafka import run_kafka
        from lakeward.streaming.runner import Accumulation, run_files, run_kinesis, stop_on_signals
        from lakeward.tables.write_modes import WriteOptions, WriteSettings

        settings = Settings.load()
        start_spark(settings)
        trigger = parse_trigger(options["trigger"])
        delay = parse_trigger(extra.get("max_batch_delay", "60s"), "--max-batch-delay")
        accumulation = Accumulation(extra.get("min_batch_records", 0), 60.0 if delay is None else delay)
        change = options["change_column"] or ("op" if extra.get("payload") == "debezium" else None)
        write = WriteOptions(options["mode"], tuple(options["merge_keys"]), change if options["mode"] == "merge" else
                             options["change_column"], options["order_by"]).over(WriteSettings())
        given = frozenset(k for k in ("format", "partition_by", "lake") if options.get(k))
        request = IngestRequest(options["table"], source, options["table_format"], options["partition_by"],
                                options["lake"] or settings.lake, govern=not options["no_govern"], write=write,
                                origin=Origin("cli", None, given))
        stop = threading.Event()
        with aws_context(settings) as aws, stop_on_signals(stop):
            stream_settings = StreamSettings(options["consumer"], extra.get("payload", "json"),
                                             extra.get("with_metadata", False),
                                             extra.get("max_message_bytes") or StreamSettings.max_bytes,
                                             options["compact_every"])
            sink = StreamSink(spark_session(settings, aws), aws, request, settings, stream_settings)
            if kind == "kinesis":
                report = run_kinesis(spark_session(settings, aws), sink, source, trigger, stop,
                                     extra["starting_position"], _status,
                                     limit_per_shard=extra["max_records_per_shard"], accumulation=accumulation)
            elif kind == "kafka":
                report = run_kafka(spark_session(settings, aws), sink, source, extra["bootstrap_servers"], trigger, stop,
                                   extra["checkpoint"], extra["starting_offsets"], _status, accumulation=accumulation)
            else:
                report = run_files(sink, source, trigger, stop, _status)
        console.print(f"{report.table} from {report.source} (consumer {report.consumer}): {len(report.batches)} "
                      f"micro-batches, rows read {report.rows_read} = written {report.rows_written} + quarantined "
                      f"{report.rows_quarantined}; stopped: {report.stopped_by}")
        if report.rows_quarantined and report.quarantine_location:
            console.print(f"quarantine: {report.quarantine_location}")
        if options["report_path"]:
            report.save(options["report_path"])


def _messages(f: Any) -> Any:
    options = [
        click.option("--payload", type=click.Choice(["json", "text", "debezium"]), default="json", show_default=True,
                     help="How a message reads: JSON objects or arrays (gzip too), text to one column 'message', or "
                          "Debezium change events (merged on --merge-key with op as the change column)."),
        click.option("--with-metadata", is_flag=True,
                     help="Add stream_key, stream_partition, stream_offset (the offset or sequence number) and "
                          "stream_arrival_time columns."),
        click.option("--max-message-bytes", type=click.IntRange(min=1),
                     help="Larger messages are quarantined whole [default: 1 MiB]."),
        click.option("--min-batch-records", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Hold records back until a micro-batch has this many (fewer, larger files and commits "
                          "at high rates), or --max-batch-delay passed; 0: write what each trigger brings."),
        click.option("--max-batch-delay", default="60s", show_default=True,
                     help="With --min-batch-records: the longest a record is held back (5s, 2m)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@stream.command()
@click.argument("topic")
@_common
@_messages
@click.option("--bootstrap-servers", required=True, help="host:port[,host:port] of the Kafka or MSK brokers.")
@click.option("--checkpoint", help="Spark's checkpoint folder [default: with the table, under _lakeward/checkpoints]; "
                                   "if it is lost, the stream resumes from the offsets the table holds.")
@click.option("--starting-offsets", type=click.Choice(["earliest", "latest"]), default="earliest", show_default=True,
              help="Where a new consumer starts (a known one resumes from the table).")
def kafka(topic: str, **options: Any) -> None:
    """Consume the Kafka (MSK) TOPIC with Spark's Kafka source."""
    extra = {k: options.pop(k) for k in ("payload", "with_metadata", "max_message_bytes", "bootstrap_servers",
                                         "checkpoint", "starting_offsets", "min_batch_records", "max_batch_delay")}
    _run("kafka", topic, options, extra)


@stream.command()
@click.argument("stream_name", metavar="STREAM")
@_common
@_messages
@click.option("--max-records-per-shard", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="GetRecords limit per shard and micro-batch (as Glue's maxFetchRecordsPerShard).")
@click.option("--starting-position", type=click.Choice(["trim_horizon", "latest"]), default="trim_horizon",
              show_default=True, help="Where a new consumer starts (a known one resumes from the table).")
def kinesis(stream_name: str, **options: Any) -> None:
    """Consume the Kinesis stream STREAM (a name or ARN): every shard, new shards found while running."""
    extra = {k: options.pop(k) for k in ("payload", "with_metadata", "max_message_bytes", "starting_position",
                                         "max_records_per_shard", "min_batch_records", "max_batch_delay")}
    _run("kinesis", stream_name, options, extra)


@stream.command()
@click.argument("folder")
@_common
def files(folder: str, **options: Any) -> None:
    """Take the files that land under FOLDER (local or s3://, as Firehose or DataSync deliver them), any format
    ingest reads; the table's ledger is the position, so a file is never taken twice."""
    _run("files", folder, options, {})
