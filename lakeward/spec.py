"""The table spec: a YAML file, kept in git, that declares each table's source, format, partitioning,
evolution mode and schema hints. Validated with pydantic; every error names the file and the key.

    lake: s3://bucket/lake            # optional, where new tables are created
    tables:
      sales.orders:
        source: s3://bucket/raw/orders/
        format: parquet               # parquet | delta
        partition_by: dt=date(order_ts)
        evolution: evolve             # evolve | freeze | rescue
        widen: auto                   # auto | rewrite | quarantine: a type change older files cannot follow
        quality:                      # DQDL rules, checked in every batch (or rules_file: orders.dqdl)
          default_action: warn        # quarantine | fail | warn; a rule's own: labels=["action"="fail"]
          rules: 'Rules = [ IsComplete "order_id", ColumnValues "amount" >= 0 labels=["action"="quarantine"] ]'
          references: {customers: crm.customers}  # ReferentialIntegrity "customer_id" "customers.id" = 1.0
                                      # (an alias not mapped is the table of that name in the same database)
          cloudwatch: true            # rule counts to CloudWatch, as Glue Data Quality publishes them
          evaluation_context: orders  # their EvaluationContext dimension (default: the table, sales.orders)
        null_values: ["NA", "-"]      # missing-value tokens: NULL in every column, text too (default:
                                      # NA, N/A, NULL, NaN, #N/A, ... and only in numeric/typed columns)
        hints:                        # column -> Athena type; overrides inference
          amount: decimal(12,2)
          zip_code: string
        mode: append                  # append | overwrite | overwrite-partitions | merge (Delta)
        merge_keys: [order_id]        # merge: key columns; change_column: Op; order_by: updated_at
        projection:                   # Athena partition projection (Parquet): no partitions registered
          dt: {type: date, range: "2024-01-01,NOW", format: yyyy-MM-dd, interval: 1, unit: DAYS}
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from catalog import types as C
from catalog.names import normalize_identifier
from catalog.partition_projection import ProjectedColumn
from catalog.partition_spec import parse_partition_spec
from lakeformation.spec import GovernanceSpec
from lakeward.errors import LakewardError, SpecError
from lakeward.ingest.request import FrontDoor, IngestRequest, Origin, parse_table_name
from lakeward.quality.policy import QualityRules
from lakeward.runtime.storage import Storage, to_uri
from lakeward.tables.write_modes import WriteOptions, WriteSettings, check_settings


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


class QualitySpec(BaseModel):
    """DQDL rules of a table: inline (``rules``) or in a file beside the spec or on S3 (``rules_file``)."""

    model_config = ConfigDict(extra="forbid")

    rules: str | None = None
    rules_file: str | None = None
    default_action: Literal["quarantine", "fail", "warn"] = "warn"
    references: dict[str, str] = Field(default_factory=dict)  # ReferentialIntegrity alias -> DB.TABLE
    cloudwatch: bool = False
    evaluation_context: str | None = None

    def parsed(self, where: str) -> QualityRules:
        return QualityRules.parse(self.rules or "", self.default_action, where, self.references, self.cloudwatch,
                                  self.evaluation_context)

    @model_validator(mode="after")
    def _one_source(self) -> "QualitySpec":
        if (self.rules is None) == (self.rules_file is None):
            raise ValueError("give the DQDL rules inline (rules) or in a file (rules_file), one of them")
        if self.rules is not None:
            try:
                self.parsed("rules")
            except SpecError as e:
                raise ValueError(str(e)) from None
        return self


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
    changed_files: Literal["hold", "reingest"] | None = None
    widen: Literal["auto", "rewrite", "quarantine"] | None = None
    null_values: list[str] | None = None
    quality: QualitySpec | None = None

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
        check_settings(self.write_settings(), lambda setting: setting)
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
    _origin: str = PrivateAttr("spec")

    @property
    def origin(self) -> str:
        """The spec file's path, as errors name it."""
        return self._origin

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
        spec = Spec.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
        raise SpecError(f"{origin}: {_where(first['loc'])}: {message}{more}") from None
    spec._origin = origin
    return spec


def requests(spec: Spec, table: str | None = None, lake: str | None = None, default_lake: str = "lake",
             door: FrontDoor = "api", given: frozenset[str] = frozenset(), **overrides: Any) -> list[IngestRequest]:
    """One ingest request per table of the spec (or only ``table``); non-None overrides win over the spec.
    ``given`` names the settings the front door itself was given (errors about them name the door's option)."""
    chosen = spec.tables
    if not chosen:
        raise SpecError(f"{spec.origin}: the spec declares no tables to ingest (add a 'tables' section)")
    if table is not None:
        wanted = parse_table_name(table, Origin(door).spell("table"))
        chosen = {k: v for k, v in spec.tables.items() if parse_table_name(k) == wanted}
        if not chosen:
            raise SpecError(f"{Origin(door).spell('table')} {table}: not in the spec, which declares "
                            f"{', '.join(spec.tables)}")
    result = []
    for name, t in chosen.items():
        origin = Origin(door, f"{spec.origin}: tables[{name!r}]", given | {k for k, v in overrides.items() if v is not None})
        request = IngestRequest(name, t.source, t.format, t.partition_by, lake or spec.lake or default_lake,
                                t.evolution, t.parsed_hints(), spec.governance, write=t.write_settings(),
                                projection=tuple(p.column(n) for n, p in t.projection.items()),
                                changed_files=t.changed_files, widen=t.widen,
                                                quality=t.quality.parsed(f"{spec.origin}: tables[{name!r}].quality")
                                if t.quality else None,
                                null_values=tuple(t.null_values) if t.null_values is not None else None,
                                origin=origin)
        result.append(replace(request, **{k: v for k, v in overrides.items() if v is not None}))
    return result


def read_spec(storage: Storage, path: str) -> Spec:
    """A spec file from a local path or s3:// URI."""
    try:
        text = storage.read_head(to_uri(path), 16 * 1024 * 1024).decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"--spec {path}: cannot read it ({e})") from e
    spec = load_spec(text, path)
    for name, table in spec.tables.items():  # rules files are read now, relative to the spec's folder
        if table.quality is not None and table.quality.rules_file:
            table.quality.rules = read_rules(storage, table.quality.rules_file, to_uri(path),
                                             f"{path}: tables[{name!r}].quality.rules_file")
            table.quality.parsed(f"{path}: tables[{name!r}].quality ({table.quality.rules_file})")
    return spec


def read_rules(storage: Storage, location: str, beside: str | None = None, setting: str = "--dq-rules") -> str:
    """A DQDL file: local, s3://, or relative to the file ``beside`` (the spec)."""
    uri = location if "://" in location or location.startswith("/") or beside is None else \
        beside.rsplit("/", 1)[0] + "/" + location
    try:
        return storage.read_head(to_uri(uri), 1024 * 1024).decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"{setting} {location}: cannot read it ({e})") from e


def with_rules(request: IngestRequest, storage: Storage, rules: str | None, action: str | None,
               spelled: tuple[str, str, str] = ("--dq-rules", "--dq-default-action", "--dq-cloudwatch"),
               cloudwatch: bool = False) -> IngestRequest:
    """The request with the DQDL rules a command line or job gave (a file, or the DQDL text itself), or its
    spec's rules under another default action; the spec's ReferentialIntegrity references and CloudWatch
    publishing are kept."""
    current = request.quality
    kept: dict[str, Any] = {}  # the spec's references and publishing stay
    if current is not None:
        kept = {"references": dict(current.references), "cloudwatch": current.cloudwatch,
                "evaluation_context": current.evaluation_context}
    if cloudwatch:
        kept["cloudwatch"] = True
    if rules:
        inline = rules.lstrip().startswith(("Rules", "Metadata", "DataSources", "#"))
        text = rules if inline else read_rules(storage, rules, setting=spelled[0])
        return replace(request, quality=QualityRules.parse(text, action or "warn", spelled[0] if inline else
                                                           f"{spelled[0]} {rules}", **kept))
    if current is not None and (action or cloudwatch):
        return replace(request, quality=QualityRules.parse(current.text, action or current.default_action,
                                                           spelled[1] if action else spelled[2], **kept))
    if cloudwatch:
        raise SpecError(f"{spelled[2]}: table {request.table} has no DQDL rules whose results to publish; "
                        f"give {spelled[0]}")
    return request


def job_flag(value: str, setting: str) -> bool:
    """A true/false job parameter; empty is false."""
    if value.strip().lower() in ("", "false"):
        return False
    if value.strip().lower() == "true":
        return True
    raise SpecError(f"{setting} {value!r}: expected true or false")


def parse_hints(texts: Iterable[str], setting: str = "--hint") -> dict[str, C.DataType]:
    """``COL=TYPE`` hints given to a front door."""
    hints: dict[str, C.DataType] = {}
    for text in texts:
        column, _, type_text = text.partition("=")
        try:
            hints.update([parse_hint(column.strip(), type_text.strip())])
        except ValueError as e:
            raise SpecError(f"{setting} {text!r}: {e}") from None
    return hints


def ingest_requests(storage: Storage, *, source: str | None, table: str | None, spec_path: str | None,
                    lake: str | None, default_lake: str = "lake", door: FrontDoor = "cli", hints: Iterable[str] = (),
                    write: WriteOptions | None = None, **overrides: Any) -> list[IngestRequest]:
    """What to ingest: the tables of a spec file (settings given at the door win), or SOURCE into a table."""
    spell = Origin(door).spell
    extra = parse_hints(hints, spell("hints"))
    write = write or WriteOptions()
    given = frozenset([*(k for k, v in overrides.items() if v is not None), *(["hints"] if extra else []),
                       *write.given, *(["source"] if source else []), *(["lake"] if lake else [])])
    if spec_path:
        spec = read_spec(storage, spec_path)
        per_table = [s for s in ("source", "hints", "format", "partition_by", "merge_keys", "change_column",
                                 "order_by") if s in given]
        if per_table and table is None and len(spec.tables) > 1:
            raise SpecError(f"{', '.join(spell(s) for s in per_table)} would apply to all {len(spec.tables)} tables "
                            f"of {spec_path}; add {spell('table')} DB.TABLE to choose one")
        chosen = requests(spec, table, lake, default_lake, door, given, source=source, **overrides)
        return [replace(r, hints={**r.hints, **extra}, write=write.over(r.write)) for r in chosen]
    if not source or not table:
        raise SpecError(f"give {spell('source')} and {spell('table')} DB.TABLE, or {spell('spec')} FILE")
    request = IngestRequest(table, source, lake=lake or default_lake, hints=extra, write=write.over(WriteSettings()),
                            origin=Origin(door, None, given))
    return [replace(request, **{k: v for k, v in overrides.items() if v is not None})]
