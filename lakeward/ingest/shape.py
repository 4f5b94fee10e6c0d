"""The batch's rows in the table's shape: every part's raw columns converted to the planned columns and
partition values, with a reason for each row that cannot be written (it is then quarantined whole, with
its raw record). One lazy DataFrame; nothing runs here."""
from __future__ import annotations

from collections import defaultdict
from functools import reduce
from typing import Any

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from catalog import types as C
from catalog.evolution import RESCUED_COLUMN
from catalog.names import NestedNames
from catalog.parameters import PARSED_FROM
from catalog.partition_spec import PartitionField
from catalog.schema import Column
from lakeward.engines.bookkeeping import (
    CORRUPT_COL,
    FILE_COL,
    MTIME_COL,
    NULLED_COL,
    PROBLEM_COL,
    RAW_COL,
    REASON_COL,
    SIZE_COL,
)
from lakeward.engines.spark_columns import quoted
from lakeward.engines.spark_types import to_spark
from lakeward.ingest.batch import RawPart
from lakeward.ingest.conform import conform
from lakeward.ingest.content_types import (
    INTEGRAL_TYPES,
    NULL_TOKENS,
    ContentType,
    epoch_unit,
    from_epoch,
    null_token,
)
from lakeward.ingest.partition_checks import projection_reason
from lakeward.ingest.planning import Target
from lakeward.tables.merge import OP_COL, change_operation, merge_reason

_MALFORMED = {"csv": "CSV", "jsonl": "JSON", "json": "JSON"}


def partition_value(p: PartitionField, source: SparkColumn) -> SparkColumn:
    """A row's value of a partition column, from its source column."""
    if p.transform == "identity":
        return source
    # Through a timestamp, so a string with a zone offset lands on its UTC date, as a timestamp does.
    as_timestamp = F.to_timestamp(source)
    return {"date": F.to_date, "year": F.year, "month": F.month, "day": F.dayofmonth,
            "hour": F.hour}[p.transform](as_timestamp)


def shape(parts: list[RawPart], target: Target) -> DataFrame:
    """One DataFrame of every row of the batch in the table's shape, with a reason for each bad row."""
    columns = list(target.definition.columns)
    frames = [_shape_part(part, mapping, content, target, columns)
              for part, mapping, content in zip(parts, target.names, target.content)]
    rows = reduce(DataFrame.unionByName, frames)
    extra = [r for r in (merge_reason(target.write) if target.write.mode == "merge" else None,
                         projection_reason(target.projection)) if r is not None]
    if extra:  # reasons about the projected row as a whole; the record is kept as JSON
        problem = F.coalesce(F.col(REASON_COL), *extra)
        rows = rows.withColumns({REASON_COL: problem, RAW_COL: F.when(problem.isNotNull(), F.coalesce(
            F.col(RAW_COL), F.to_json(F.struct(*[quoted(c.name) for c in (*columns, *target.partitions)]))))})
    return rows


def _shape_part(part: RawPart, mapping: dict[str, str], content: dict[str, ContentType], target: Target,
                columns: list[Column]) -> DataFrame:
    identity_keys = [k for k in target.definition.partition_keys
                     if any(p.name == k.name and p.transform == "identity" for p in target.partitions)]
    sources: dict[str, list] = defaultdict(list)
    for f in part.data_columns:
        sources[mapping[f.name]].append(f)
    values, problems, rescued, nulled = {}, [], [], []
    known = {c.name for c in (*columns, *identity_keys)}
    for column_name in target.plan.unknown:
        for source in sources.get(column_name, []):
            if target.mode == "rescue":
                rescued.append((source.name, quoted(source.name).isNotNull()))
            else:
                problems.append(F.when(quoted(source.name).isNotNull(), F.lit(
                    f"column {column_name} (from {source.name!r}) is not in the table, whose schema is frozen")))
    for column in (*columns, *identity_keys):
        if not sources.get(column.name):
            values[column.name] = F.lit(None).cast(to_spark(column.type))
            continue
        converted = []
        tokens = target.null_values
        for source in sources[column.name]:
            text = isinstance(source.dataType, T.StringType)
            if text and (column.type != C.STRING or tokens is not None):
                nulled.append(F.when(null_token(quoted(source.name), tokens or NULL_TOKENS), F.lit(column.name)))
            value, lossy = _convert(source, column, content.get(source.name), target.nested, tokens or NULL_TOKENS)
            if text and column.type == C.STRING and tokens is not None:  # the table's own tokens: text too
                value = F.when(~null_token(quoted(source.name), tokens), value)
            if lossy is not None and target.mode == "rescue":
                value = F.when(lossy, F.lit(None)).otherwise(value)
                rescued.append((source.name, lossy))
            elif lossy is not None:
                problems.append(F.when(lossy, F.concat(
                    F.lit(f"column {column.name}: value '"), _shown(source), F.lit(
                        f"' of {source.name!r} ({source.dataType.simpleString()}) does not fit the table "
                        f"type {C.to_hive(column.type)}"))))
            converted.append(value)
        values[column.name] = converted[0] if len(converted) == 1 else F.coalesce(*converted)
        if len(converted) > 1:  # names mapped to one column earlier, now both set in one record
            raws = [quoted(f.name) for f in sources[column.name]]
            several = sum((r.isNotNull().cast("int") for r in raws), F.lit(0)) > 1
            if target.mode == "rescue":
                rescued.extend((f.name, several) for f in sources[column.name][1:])
            else:
                problems.append(F.when(several, F.lit(
                    f"column {column.name}: fields {', '.join(repr(f.name) for f in sources[column.name])} "
                    "are all set in this record; they map to one column")))
    if RESCUED_COLUMN in known:
        values[RESCUED_COLUMN] = _rescued(rescued)
    keys = {}
    for p in target.partitions:
        key_type = to_spark(target.definition.column(p.name).type)  # type: ignore[union-attr]
        value = partition_value(p, values[p.source]).cast(key_type)
        keys[p.name] = value
        if p.transform != "identity":
            problems.append(F.when(values[p.source].isNotNull() & value.isNull(), F.lit(
                f"partition {p}: cannot derive a {p.transform} from column {p.source}")))
    malformed = F.lit("malformed JSON line (it is not exactly one JSON value; a line holding several values is "
                      "quarantined whole)" if part.kind == "jsonl" else
                      f"malformed {_MALFORMED.get(part.kind, 'source')} record (it could not be parsed)")
    if PROBLEM_COL in part.df.columns:  # the source says why (a stream's poison message, with its position)
        malformed = F.coalesce(F.col(PROBLEM_COL), malformed)
    reason = F.when(F.col(CORRUPT_COL).isNotNull(), malformed)
    if problems:
        reason = reason.otherwise(F.nullif(F.concat_ws("; ", *problems), F.lit("")))
    raw = F.col(CORRUPT_COL)
    if part.data_columns:
        raw = F.coalesce(raw, F.to_json(F.struct(*[quoted(f.name) for f in part.data_columns])))
    write = target.write
    return part.df.select(
        *[values[c.name].alias(c.name) for c in columns],
        *[keys[p.name].alias(p.name) for p in target.partitions],
        F.col(FILE_COL), reason.alias(REASON_COL), F.when(reason.isNotNull(), raw).alias(RAW_COL),
        F.col(SIZE_COL), F.col(MTIME_COL),
        (F.nullif(F.concat_ws(",", *nulled), F.lit("")) if nulled else F.lit(None).cast("string")).alias(NULLED_COL),
        *([change_operation(write, sources.get(write.change_column or "", [])).alias(OP_COL)]
          if write.mode == "merge" else []))


def _shown(source: Any, limit: int = 80) -> Any:
    """A raw value as text for a quarantine reason, cut to ``limit`` characters."""
    raw = quoted(source.name)
    text = F.to_json(raw) if isinstance(source.dataType, (T.StructType, T.ArrayType, T.MapType)) else raw.cast("string")
    return F.when(F.length(text) > limit, F.concat(F.substring(text, 1, limit - 3), F.lit("..."))).otherwise(text)


def _convert(source: Any, column: Column, content: ContentType | None, nested: NestedNames,
             tokens: tuple[str, ...]) -> tuple[Any, Any]:
    """A raw top-level field converted to its column's type, and when a value did not survive, the condition.
    Integers go into a timestamp column only as the epoch unit its content (or its recorded format) shows."""
    unit = epoch_unit(content.format if content else column.parameters.get(PARSED_FROM))
    if unit and column.type == C.TIMESTAMP and isinstance(source.dataType, INTEGRAL_TYPES):
        return from_epoch(quoted(source.name), unit)
    return conform(quoted(source.name), source.dataType, column.type, nested, column.name, tokens)


def _rescued(entries: list) -> Any:
    """The _rescued_data JSON: the raw values that could not go into their columns, by raw name."""
    if not entries:
        return F.lit(None).cast("string")
    document = F.to_json(F.struct(*[F.when(condition, quoted(raw)).alias(raw) for raw, condition in entries]))
    return F.nullif(document, F.lit("{}"))
