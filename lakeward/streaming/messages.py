"""Stream messages (a Kafka record, a Kinesis record) into a batch part the core ingests like files.

A micro-batch of messages is a DataFrame with the columns of ``MESSAGE_SCHEMA``: the payload bytes,
the label of the partition or shard it came from (the report counts rows per label), its position
there (a Kafka offset, a Kinesis sequence number), its key and arrival time. The payload is parsed per
micro-batch, so a new field or a wider type evolves the table while the stream runs:

- ``json``: objects, or arrays of objects (a row per object); the schema is inferred over the
  micro-batch by Spark's JSON inference, and each message parsed exactly once (a message holding two
  values is quarantined whole, as a JSON line is).
- ``text``: the message as one ``message`` column.
- ``debezium``: Debezium change events (``{"before", "after", "op", "ts_ms", ...}``, also inside a
  ``payload`` wrapper): a row of the changed record (``after``, or ``before`` for a delete) with ``op``
  as ``I``/``U``/``D`` (``c`` and ``r`` are inserts) and ``ts_ms``, ready for a merge on the table's keys
  with ``op`` as the change column.

Poison messages never stop the stream and never vanish: a message over ``max_bytes``, one that is not
UTF-8 (kept as base64) or not a JSON value is quarantined whole with the reason and its position.
With ``with_metadata`` the table also gets ``stream_key``, ``stream_partition``, ``stream_offset``
and ``stream_arrival_time``.
"""
from __future__ import annotations

import json
from typing import Literal

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeward.engines.bookkeeping import CORRUPT_COL, LABEL_COL, PROBLEM_COL
from lakeward.ingest.batch import RawPart, frame_part
from lakeward.ingest.readers import in_order, infer_json, json_records

PayloadFormat = Literal["json", "text", "debezium"]
PAYLOAD_FORMATS: tuple[PayloadFormat, ...] = ("json", "text", "debezium")
DEBEZIUM_OPS = {"c": "I", "r": "I", "u": "U", "d": "D"}
DEFAULT_MAX_BYTES = 1 << 20  # Kinesis' record limit, and about Kafka's default message.max.bytes

MESSAGE_SCHEMA = T.StructType([
    T.StructField("value", T.BinaryType()),
    T.StructField("source", T.StringType()),  # kafka://topic/3, kinesis://stream/shardId-000000000000
    T.StructField("position", T.StringType()),  # the offset or sequence number within it
    T.StructField("key", T.StringType()),
    T.StructField("arrival_time", T.TimestampType()),
])
METADATA = {"stream_key": "key", "stream_partition": "source", "stream_offset": "position",
            "stream_arrival_time": "arrival_time"}
_SOURCE, _WHERE = LABEL_COL, "__lw_where"


def key_order(payloads: list[bytes], limit: int = 200) -> list[str]:
    """Field names in the order the first JSON objects show them (Spark's inference sorts them by name)."""
    order: dict[str, None] = {}
    for payload in payloads[:limit]:
        if payload is None:  # a tombstone
            continue
        try:
            value = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            continue
        for record in value if isinstance(value, list) else [value]:
            if isinstance(record, dict):
                order.update(dict.fromkeys(record))
    return list(order)


def message_part(spark: SparkSession, messages: DataFrame, payload: PayloadFormat = "json",
                 with_metadata: bool = False, max_bytes: int = DEFAULT_MAX_BYTES,
                 order: list[str] | None = None) -> RawPart:
    """The micro-batch's messages as one part of a batch, every message a row or a quarantined record.
    ``order``: the fields' order in the messages (else read from the first messages with a small job)."""
    value = F.col("value")
    text = F.decode(value, "UTF-8")
    where = F.concat(F.col("source"), F.lit(" at "), F.col("position"))
    problem = (F.when(value.isNull(), F.concat(F.lit("message has no value (a tombstone) ("), where, F.lit(")")))
               .when(F.length(F.trim(text)) == 0, F.concat(F.lit("message is empty ("), where, F.lit(")")))
               .when(F.length(value) > max_bytes, F.concat(
                   F.lit("message of "), F.length(value).cast("string"),
                   F.lit(f" bytes is over the {max_bytes}-byte limit ("), where, F.lit(")")))
               .when(F.encode(text, "UTF-8") != value, F.concat(
                   F.lit("message is not UTF-8 text; kept as base64 ("), where, F.lit(")"))))
    meta = [F.col(column).alias(name) for name, column in METADATA.items()] if with_metadata else []
    base = messages.select(F.when(problem.isNull(), text).alias("value"), problem.alias(PROBLEM_COL),
                           F.when(problem.isNotNull(), F.when(value.isNull(), F.lit(""))
                                  .when(F.length(value) > max_bytes, text)
                                  .otherwise(F.base64(value))).alias("__lw_poison"),
                           F.col("source").alias(_SOURCE), where.alias(_WHERE), *meta)
    names = list(METADATA) if with_metadata else []
    keep = [_SOURCE, _WHERE, *names]
    good = base.where(F.col(PROBLEM_COL).isNull())
    if payload == "text":
        rows = base.select(F.col("value").alias("message"), F.col("__lw_poison").alias(CORRUPT_COL),
                           F.col(PROBLEM_COL), *keep)
    else:
        parsed = json_records(good.select("value", *keep), infer_json(spark, good.select("value")), keep, CORRUPT_COL)
        if order is None:
            order = key_order([r[0] for r in messages.select("value").limit(200).collect()])
        parsed = in_order(parsed, order)
        if payload == "debezium":
            parsed = _change_rows(parsed, keep)
        data = [c for c in parsed.columns if c not in (CORRUPT_COL, *keep)]
        parsed = parsed.withColumn(PROBLEM_COL, F.when(F.col(CORRUPT_COL).isNotNull(), F.concat(
            F.lit("message is not a JSON value (or holds more than one) ("), F.col(_WHERE), F.lit(")"))))
        poison = base.where(F.col(PROBLEM_COL).isNotNull()).select(
            *[F.lit(None).cast(parsed.schema[c].dataType).alias(c) for c in data],
            F.col("__lw_poison").alias(CORRUPT_COL), *keep, F.col(PROBLEM_COL))
        rows = parsed.unionByName(poison)
    if with_metadata and payload == "json":  # message fields first, then where it came from
        rows = rows.select(*[c for c in rows.columns if c not in names], *names)
    return frame_part(rows.drop(_WHERE), kind="frame" if payload == "text" else "jsonl")


def _change_rows(parsed: DataFrame, keep: list[str]) -> DataFrame:
    """Debezium envelopes as rows of the changed record, with op (I/U/D) and ts_ms."""
    if "payload" in parsed.columns and isinstance(parsed.schema["payload"].dataType, T.StructType):
        parsed = parsed.select("payload.*", CORRUPT_COL, *keep)
    def fields(side: str) -> dict[str, T.DataType]:
        if side not in parsed.columns or not isinstance(parsed.schema[side].dataType, T.StructType):
            return {}  # absent, or NULL in every event of the batch
        return {f.name: f.dataType for f in parsed.schema[side].dataType.fields}
    after, before = fields("after"), fields("before")
    names = list(dict.fromkeys([*after, *before]))
    values = []
    for name in names:  # the record after the change; before it only for a delete (after is NULL then)
        if name in after and name in before:
            value = F.when(F.col("after").isNotNull(), F.col(f"after.`{name}`")).otherwise(F.col(f"before.`{name}`"))
        else:
            value = F.col(f"{'after' if name in after else 'before'}.`{name}`")
        values.append(value.alias(name))
    op = F.col("op") if "op" in parsed.columns else F.lit(None).cast("string")
    mapped = F.coalesce(*[F.when(op == k, F.lit(v)) for k, v in DEBEZIUM_OPS.items()], op)
    ts = F.col("ts_ms") if "ts_ms" in parsed.columns else F.lit(None).cast("long")
    return parsed.select(*values, mapped.alias("op"), ts.alias("ts_ms"), CORRUPT_COL, *keep)
