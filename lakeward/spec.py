"""The table spec: a YAML file, kept in git, that declares each table's source, format, partitioning,
evolution mode and schema hints. Validated with pydantic; every error names the file and the key.

    lake: s3://bucket/lake            # optional, where new tables are created
    tables:
      sales.orders:
        source: s3://bucket/raw/orders/
        format: parquet               # parquet | delta
        partition_by: dt=date(order_ts)
        evolution: evolve             # evolve | freeze | rescue
        hints:                        # column -> Athena type; overrides inference
          amount: decimal(12,2)
          zip_code: string
        mode: append                  # append | overwrite | overwrite-partitions | merge (Delta)
        merge_keys: [order_id]        # merge: key columns; change_column: Op; order_by: updated_at
        projection:                   # Athena partition projection (Parquet): no partitions registered
          dt: {type: date, range: "2024-01-01,NOW", format: yyyy-MM-dd, interval: 1, unit: DAYS}
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from catalog import types as C
from catalog.names import normalize_identifier
from catalog.partition_projection import ProjectedColumn
from lakeformation.spec import GovernanceSpec
from lakeward.errors import LakewardError, SpecError
from lakeward.partitioning import parse_partition_spec
from lakeward.pipeline import IngestRequest, parse_table_name
from lakeward.storage import Storage, to_uri
from lakeward.write_modes import WriteOptions, WriteSettings, check_settings


def parse_hint(column: str, type_text: str) -> tuple[str, C.DataType]:
    """One schema hint: a column as the table names it, and an Athena type."""
    if normalize_identifier(column) != column:
        raise ValueError(f"{column!r} is not a column name as the table has it; write {normalize_identifier(column)!r}")
    try:
        return column, C.parse_hive(type_text)
    except LakewardError as e:
        raise ValueError(f"{column}: {type_text!r} is not an Athena type ({e})") from None


class ProjectionSpec(BaseModel):
    """One partition column's Athena partition projection."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["enum", "integer", "date", "injected"]
    values: list[str] = Field(default_factory=list)
    range: str | None = None
    format: str | None = None
    interval: int | None = None
    unit: str | None = None
    digits: int | None = None

    def column(self, name: str) -> ProjectedColumn:
        return ProjectedColumn(normalize_identifier(name), self.type, tuple(self.values), self.range, self.format,
                               self.interval, self.unit, self.digits)


class TableSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1)
    format: Literal["parquet", "delta"] | None = None
    partition_by: str | None = None
    evolution: Literal["evolve", "freeze", "rescue"] | None = None
    hints: dict[str, str] = Field(default_factory=dict)
    mode: Literal["append", "overwrite", "overwrite-partitions", "merge"] | None = None
    merge_keys: list[str] = Field(default_factory=list)
    change_column: str | None = None
    order_by: str | None = None
    projection: dict[str, ProjectionSpec] = Field(default_factory=dict)

    @field_validator("projection")
    @classmethod
    def _projection(cls, value: dict[str, ProjectionSpec]) -> dict[str, ProjectionSpec]:
        for name, spec in value.items():
            try:
                spec.column(name).check()
            except SpecError as e:
                raise ValueError(str(e)) from None
        return value

    @model_validator(mode="after")
    def _write_settings(self) -> "TableSpec":
        if self.mode == "merge" and not self.merge_keys:
            raise ValueError("mode merge needs merge_keys: [COL, ...]")
        if self.mode != "merge" and (self.merge_keys or self.change_column or self.order_by):
            raise ValueError(f"merge_keys, change_column and order_by apply to mode merge, not {self.mode or 'append'}")
        check_settings(self.write_settings())
        return self

    def write_settings(self) -> WriteSettings:
        return WriteSettings(self.mode or "append", tuple(normalize_identifier(k) for k in self.merge_keys),
                             normalize_identifier(self.change_column) if self.change_column else None,
                             normalize_identifier(self.order_by) if self.order_by else None)

    @field_validator("partition_by")
    @classmethod
    def _partition_spec(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_partition_spec(value)
            except SpecError as e:
                raise ValueError(str(e)) from None
        return value

    @field_validator("hints")
    @classmethod
    def _hints(cls, value: dict[str, str]) -> dict[str, str]:
        for column, type_text in value.items():
            parse_hint(column, type_text)
        return value

    def parsed_hints(self) -> dict[str, C.DataType]:
        return dict(parse_hint(c, t) for c, t in self.hints.items())


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lake: str | None = None
    tables: dict[str, TableSpec] = Field(default_factory=dict)
    governance: GovernanceSpec | None = None  # lakeformation.spec; None: the built-in default

    @model_validator(mode="after")
    def _something(self) -> Spec:
        if not self.tables and self.governance is None:
            raise ValueError("expected a 'tables' or a 'governance' section")
        return self

    @field_validator("tables")
    @classmethod
    def _table_names(cls, value: dict[str, TableSpec]) -> dict[str, TableSpec]:
        for name in value:
            try:
                parse_table_name(name)
            except SpecError:
                raise ValueError(f"{name!r}: a table is named DB.TABLE, for example sales.orders") from None
        return value


def _where(loc: tuple[Any, ...]) -> str:
    parts = []
    for part in loc:
        text = str(part)
        parts.append(f"[{text!r}]" if "." in text or " " in text else f".{text}" if parts else text)
    return "".join(parts) or "(top level)"


def load_spec(text: str, origin: str) -> Spec:
    """Parse and validate a spec; ``origin`` (its path) goes into every error message."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise SpecError(f"{origin}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise SpecError(f"{origin}: expected a mapping with a 'tables' key")
    try:
        return Spec.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
        raise SpecError(f"{origin}: {_where(first['loc'])}: {message}{more}") from None


def requests(spec: Spec, table: str | None = None, lake: str | None = None, **overrides: Any) -> list[IngestRequest]:
    """One ingest request per table of the spec (or only ``table``); non-None overrides win over the spec."""
    chosen = spec.tables
    if not chosen:
        raise SpecError("the spec declares no tables to ingest (add a 'tables' section)")
    if table is not None:
        wanted = parse_table_name(table)
        chosen = {k: v for k, v in spec.tables.items() if parse_table_name(k) == wanted}
        if not chosen:
            raise SpecError(f"--table {table}: not in the spec, which declares {', '.join(spec.tables)}")
    result = []
    for name, t in chosen.items():
        root = lake or spec.lake or os.environ.get("LAKEWARD_LAKE") or "lake"
        request = IngestRequest(t.source, name, t.format, t.partition_by, root, t.evolution,
                                t.parsed_hints(), spec.governance, write=t.write_settings(),
                                projection=tuple(p.column(n) for n, p in t.projection.items()))
        result.append(replace(request, **{k: v for k, v in overrides.items() if v is not None}))
    return result


def read_spec(storage: Storage, path: str) -> Spec:
    """A spec file from a local path or s3:// URI."""
    try:
        text = storage.read_head(to_uri(path), 16 * 1024 * 1024).decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"--spec {path}: cannot read it ({e})") from e
    return load_spec(text, path)


def parse_hints(texts: Iterable[str]) -> dict[str, C.DataType]:
    """``COL=TYPE`` hints from the command line."""
    hints: dict[str, C.DataType] = {}
    for text in texts:
        column, _, type_text = text.partition("=")
        try:
            hints.update([parse_hint(column.strip(), type_text.strip())])
        except ValueError as e:
            raise SpecError(f"--hint {text!r}: {e}") from None
    return hints


def ingest_requests(storage: Storage, *, source: str | None, table: str | None, spec_path: str | None,
                    lake: str | None, hints: Iterable[str] = (), write: WriteOptions | None = None,
                    **overrides: Any) -> list[IngestRequest]:
    """What to ingest: the tables of a spec file (settings given here win), or SOURCE into --table."""
    extra = parse_hints(hints)
    if spec_path:
        spec = read_spec(storage, spec_path)
        per_table = {"SOURCE": source, "--hint": extra, **{f"--{k.replace('_', '-')}": v for k, v in overrides.items()
                                                            if k in ("format", "partition_by")}}
        given = [option for option, value in per_table.items() if value] + (write.per_table if write else [])
        if given and table is None and len(spec.tables) > 1:
            raise SpecError(f"{', '.join(given)} would apply to all {len(spec.tables)} tables of {spec_path}; "
                            "add --table DB.TABLE to choose one")
        chosen = requests(spec, table, lake, source=source, **overrides)
        return [replace(r, hints={**r.hints, **extra}, write=write.over(r.write) if write else r.write)
                for r in chosen]
    if not source or not table:
        raise SpecError("give SOURCE and --table DB.TABLE, or --spec FILE (see lakeward ingest --help)")
    request = IngestRequest(source, table, lake=lake or os.environ.get("LAKEWARD_LAKE") or "lake", hints=extra,
                            write=write.over(WriteSettings()) if write else WriteSettings())
    return [replace(request, **{k: v for k, v in overrides.items() if v is not None})]
