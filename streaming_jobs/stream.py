"""AWS Glue 5.1 streaming job: a Kinesis stream, a Kafka (MSK) topic or a landing folder into a governed table.

Job parameters: --source_type kinesis|kafka|files, --source (a Kinesis stream name or ARN, a topic, or
an s3:// folder), --table DB.TABLE, --lake s3://bucket/prefix; optionally --format parquet|delta,
--partition_by SPEC, --consumer NAME (default lakeward), --payload json|text, --with_metadata true,
--max_message_bytes N, --compact_every N (micro-batches between compactions, 0: never), --starting_position trim_horizon|latest, --window_size "5 seconds" (Glue's
default is 100 seconds; ``available-now`` drains what is there and stops), --checkpoint s3://... (default: under the table's root), --bootstrap_servers
(kafka), --govern false, --report s3://.../report.json.

On Glue (``--JOB_RUN_ID`` present), Kinesis and Kafka are read by Glue's own connectors
(``GlueContext.create_data_frame.from_options``) and every window's micro-batch goes through
``glueContext.forEachBatch`` to the same function lakeward's own consumers call
(lakeward.streaming.micro_batch): Glue replays a failed window with the same batch id, which the table
recognises as committed. A landing folder is taken by lakeward's file loop (the table's ledger is the
position). Locally, Kafka is read by Spark's Kafka source, Kinesis by lakeward's consumer over the Kinesis
API and a folder by the same loop:
``python streaming_jobs/stream.py --JOB_NAME x --source_type kinesis --source orders --table db.t``.
"""
from __future__ import annotations

import re
import sys
import threading
from typing import Any

from awsglue.utils import getResolvedOptions

REQUIRED = ["JOB_NAME", "source_type", "source", "table"]
OPTIONAL = {"lake": "", "format": "", "partition_by": "", "consumer": "lakeward", "payload": "json",
            "with_metadata": "", "max_message_bytes": "", "starting_position": "trim_horizon",
            "window_size": "5 seconds", "compact_every": "50", "checkpoint": "", "bootstrap_servers": "", "govern": "", "report": ""}


def resolve_options(argv: list[str]) -> dict[str, str]:
    present = [k for k in OPTIONAL if any(a == f"--{k}" or a.startswith(f"--{k}=") for a in argv)]
    args = {**OPTIONAL, **getResolvedOptions(argv, REQUIRED + present)}
    return {k: v for k, v in args.items() if v is not None}


def window_seconds(text: str) -> float | None:
    """Glue's windowSize text in seconds; ``available-now``: None (drain what is there, then stop)."""
    if text.strip() == "available-now":
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(seconds?|s|minutes?|m)?\s*", text)
    if not m:
        from lakeward.errors import SpecError

        raise SpecError(f"--window_size {text!r}: expected e.g. '5 seconds', '1 minute' or available-now")
    return float(m.group(1)) * (60.0 if (m.group(2) or "s").startswith("m") else 1.0)


def glue_messages(frame: Any, source_type: str, source: str) -> Any:
    """A Glue connector's micro-batch as lakeward's message columns (value, source, position, key,
    arrival_time)."""
    from pyspark.sql import functions as F

    if source_type == "kinesis":  # Glue's Kinesis frame: data, streamName, partitionKey, sequenceNumber, ...
        return frame.select(F.col("data").cast("binary").alias("value"),
                            F.concat(F.lit("kinesis://"), F.col("streamName")).alias("source"),
                            F.col("sequenceNumber").cast("string").alias("position"),
                            F.col("partitionKey").cast("string").alias("key"),
                            F.col("approximateArrivalTimestamp").cast("timestamp").alias("arrival_time"))
    return frame.select(F.col("value").cast("binary").alias("value"),  # Kafka: key, value, topic, partition, ...
                        F.concat(F.lit("kafka://"), F.col("topic"), F.lit("/"), F.col("partition")).alias("source"),
                        F.col("offset").cast("string").alias("position"), F.col("key").cast("string").alias("key"),
                        F.col("timestamp").cast("timestamp").alias("arrival_time"))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    args = resolve_options(argv)

    from lakeward.cli.common import failure_message
    from lakeward.errors import LakewardError, SpecError
    from lakeward.ingest.request import IngestRequest, Origin, require_s3_lakes
    from lakeward.runtime.aws import aws_context
    from lakeward.runtime.settings import Settings
    from lakeward.runtime.spark import glue_context, on_glue, spark_session
    from lakeward.runtime.storage import Storage
    from lakeward.streaming.kafka import run_kafka
    from lakeward.streaming.micro_batch import StreamSettings, StreamSink
    from lakeward.streaming.runner import run_files, run_kinesis, stop_on_signals

    try:
        settings = Settings.load(on_glue=(True if args.get("JOB_RUN_ID") else None, "--JOB_RUN_ID"))
        if args["source_type"] not in ("kinesis", "kafka", "files"):
            raise SpecError(f"--source_type {args['source_type']!r}: expected kinesis, kafka or files")
        for option, allowed in (("payload", ("json", "text", "debezium")),
                                ("starting_position", ("trim_horizon", "latest", "earliest"))):
            if args[option] not in allowed:
                raise SpecError(f"--{option} {args[option]!r}: expected one of {', '.join(allowed)}")
        for option in ("compact_every", "max_message_bytes"):
            if args[option] and not args[option].isdigit():
                raise SpecError(f"--{option} {args[option]!r}: expected a whole number")
        request = IngestRequest(args["table"], args["source"], args["format"] or None, args["partition_by"] or None,
                                args["lake"] or settings.lake, govern=args["govern"].lower() != "false",
                                origin=Origin("glue"))
        if on_glue(settings):
            require_s3_lakes([request])
        stream = StreamSettings(args["consumer"], args["payload"], args["with_metadata"].lower() == "true",
                                int(args["max_message_bytes"]) if args["max_message_bytes"] else StreamSettings.max_bytes,
                                int(args["compact_every"]))
        trigger = window_seconds(args["window_size"])
        stop = threading.Event()
        with aws_context(settings) as aws, stop_on_signals(stop):
            spark = spark_session(settings, aws)
            sink = StreamSink(spark, aws, request, settings, stream)
            if on_glue(settings) and args["source_type"] in ("kinesis", "kafka"):
                _glue_stream(glue_context(), sink, args, trigger or 100.0)
                return 0
            if args["source_type"] == "kafka":
                if not args["bootstrap_servers"]:
                    raise SpecError("--source_type kafka needs --bootstrap_servers host:port")
                report = run_kafka(spark, sink, args["source"], args["bootstrap_servers"], trigger, stop,
                                   args["checkpoint"] or None, args["starting_position"])
            elif args["source_type"] == "kinesis":
                report = run_kinesis(spark, sink, args["source"], trigger, stop, args["starting_position"])
            else:
                report = run_files(sink, args["source"], trigger, stop)
            if args["report"].startswith("s3://"):
                Storage.for_aws(aws).write_json(args["report"], report.to_dict())
            elif args["report"]:
                report.save(args["report"])
    except LakewardError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        print(failure_message(e), file=sys.stderr)
        raise
    return 0


def _glue_stream(glue: Any, sink: Any, args: dict[str, str], trigger: float) -> None:
    """Glue's connector reads; forEachBatch hands every window to the sink with Glue's batch id."""
    source_type, source = args["source_type"], args["source"]
    if source_type == "kinesis":
        key = "streamARN" if source.startswith("arn:") else "streamName"
        options = {key: source, "startingPosition": args["starting_position"].upper(), "inferSchema": "false",
                   "classification": "json"}
    else:
        options = {"bootstrap.servers": args["bootstrap_servers"], "topicName": source,
                   "startingOffsets": "earliest" if args["starting_position"] == "trim_horizon" else "latest",
                   "inferSchema": "false", "classification": "json"}
    frame = glue.create_data_frame.from_options(connection_type=source_type, connection_options=options)
    checkpoint = args["checkpoint"] or (f"{sink.request.lake.rstrip('/')}/_checkpoints/{sink.request.table}/"
                                        f"{sink.stream.consumer}")

    def process(micro_batch: Any, batch_id: int) -> None:
        sink.write_messages(glue_messages(micro_batch, source_type, source), batch_id,
                            {"glue_batch": str(batch_id)}, f"{source_type}://{source}")

    glue.forEachBatch(frame=frame, batch_function=process,
                      options={"windowSize": f"{trigger:g} seconds", "checkpointLocation": checkpoint})


if __name__ == "__main__":
    sys.exit(main())
