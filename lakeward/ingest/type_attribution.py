"""Which files brought which type of a column, for the run report.

Spark infers one schema per read group and says nothing about which file made a field a string. The
sniffer already holds each file's first bytes (and a Parquet file's footer), so it records the kind of
every top-level field there: boolean, bigint, double, decimal, string, struct, array, map. When the files
of a batch disagree about a column, the report lists the files per kind next to the type the batch chose.
For Parquet files the kinds are exact; for JSON and CSV they describe the records in the file's first
64 KiB (a conflict further into a file is still resolved and converted correctly, just not attributed).
"""
from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

HEAD_RECORDS = 500
Kinds = tuple[tuple[str, str], ...]  # (raw field name, kind), in first-seen order


def _merge(a: str, b: str) -> str:
    if a == b:
        return a
    if {a, b} == {"bigint", "double"}:
        return "double"
    return "string"  # Spark's JSON and CSV inference fall back to string for any other mix


def _value_kind(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "bigint"
    if isinstance(value, float):
        return "double"
    if isinstance(value, dict):
        return "struct"
    if isinstance(value, list):
        return "array"
    return "string"


def _collect(records: list[dict[str, Any]], kind_of: Callable[[Any], str | None]) -> Kinds:
    kinds: dict[str, str] = {}
    for record in records:
        for name, value in record.items():
            kind = kind_of(value)
            if kind is not None:
                kinds[name] = _merge(kinds[name], kind) if name in kinds else kind
    return tuple(kinds.items())


def json_kinds(text: str, layout: str, complete: bool) -> Kinds:
    """Kinds of the top-level fields of the first records of JSON lines or of one JSON document."""
    records: list[Any] = []
    if layout == "jsonl":
        lines = text.splitlines()
        if not complete:
            lines = lines[:-1]  # the last line may be cut by the read limit
        for line in lines:
            if len(records) >= HEAD_RECORDS:
                break
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    elif complete:
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            return ()
        records = document[:HEAD_RECORDS] if isinstance(document, list) else [document]
    return _collect([r for r in records if isinstance(r, dict)], _value_kind)


def _text_kind(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    if value.lower() in ("true", "false"):
        return "boolean"
    try:
        int(value)
        return "bigint"
    except ValueError:
        pass
    try:
        float(value)
        return "double"
    except ValueError:
        return "string"


def csv_kinds(text: str, delimiter: str, header: bool, complete: bool) -> Kinds:
    """Kinds of the columns of the first CSV rows, named as Spark names them (_c0, _c1, ... without header)."""
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if not complete:
        rows = rows[:-1]
    if not rows:
        return ()
    names = rows[0] if header else [f"_c{i}" for i in range(len(rows[0]))]
    body = rows[1:] if header else rows
    return _collect([dict(zip(names, row)) for row in body[:HEAD_RECORDS]], _text_kind)


def arrow_kind(t: pa.DataType) -> str:
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t):
        return "bigint"
    if pa.types.is_floating(t):
        return "double"
    if pa.types.is_decimal(t):
        return "decimal"
    if pa.types.is_struct(t):
        return "struct"
    if pa.types.is_map(t):
        return "map"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return "array"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_date(t):
        return "date"
    return "string" if pa.types.is_string(t) or pa.types.is_large_string(t) else str(t)


def parquet_kinds(schema: pa.Schema) -> Kinds:
    return tuple((f.name, arrow_kind(f.type)) for f in schema)


@dataclass
class FileTypes:
    uri: str
    kinds: Kinds
    mapping: dict[str, str]  # raw name -> column, for the file's read group


def batch_type_conflicts(files: list[FileTypes], resolved: dict[str, str], limit: int = 20) -> list[dict[str, Any]]:
    """Per column whose files disagree: the type the batch chose and the files of each kind."""
    by_column: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for f in files:
        for raw, kind in f.kinds:
            column = f.mapping.get(raw)
            if column is not None:
                by_column[column][kind].append(f.uri)
    conflicts = []
    for column, kinds in sorted(by_column.items()):
        if len(kinds) > 1:
            conflicts.append({"column": column, "type": resolved.get(column, "?"),
                              "files": {k: sorted(set(v))[:limit] for k, v in sorted(kinds.items())}})
    return conflicts
