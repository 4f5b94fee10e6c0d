"""Schema planning: from the raw schemas of a batch's parts and the table as it is, the table the batch
will make (names, types, partition keys, evolution plan). Pure: it reads no data itself; the two
questions that need the data go to a ``Sampler`` (lakeward.ingest.sampling runs them as Spark jobs,
tests answer them directly), and only for raw fields the table does not hold already.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Protocol

from pyspark.sql import types as T

from catalog import types as C
from catalog.annotations import annotate
from catalog.evolution import (
    RESCUED_COLUMN,
    EvolutionMode,
    EvolutionPlan,
    TypeConflict,
    plan_evolution,
)
from catalog.names import NestedNames, normalize_identifier, recorded_nested_names
from catalog.parameters import (
    EVOLUTION,
    FIRST_SEEN,
    PARTITION_SPEC,
    ROOT,
    SOURCE,
)
from catalog.partition_projection import ProjectedColumn, is_projected
from catalog.partition_spec import PartitionField, parse_partition_spec, spec_text
from catalog.schema import Column, TableDefinition
from lakeward.engines.spark_types import to_catalog
from lakeward.errors import SpecError
from lakeward.ingest.content_types import INTEGRAL_TYPES, ContentType
from lakeward.ingest.naming import group_columns, resolve_names
from lakeward.ingest.partition_checks import table_projection
from lakeward.ingest.request import IngestRequest
from lakeward.tables.state import TableState
from lakeward.tables.write_modes import WriteSettings, check_for_table

# Types a string value reaches only through a strict pattern (lakeward.ingest.content_types): a raw string
# field feeding an existing column of such a type is converted (and checked) without sampling it first.
_TYPED_FROM_TEXT = (C.DATE, C.TIMESTAMP, C.BOOLEAN)


class Sampler(Protocol):
    def together(self, part: int, groups: dict[str, list[str]]) -> dict[str, int]:
        """Per normalised name: the records of the part that set more than one of its raw names."""

    def content_types(self, part: int, fields: list[T.StructField]) -> dict[str, ContentType]:
        """Raw name -> the type every sampled value of that field has (absent: its Spark type stays)."""


@dataclass(frozen=True)
class PartSchema:
    fields: list[T.StructField]  # the part's raw data columns
    text: bool = False  # every value is text (CSV): its content decides every type, numbers included


@dataclass
class Target:
    definition: TableDefinition
    plan: EvolutionPlan
    partitions: list[PartitionField]
    names: list[dict[str, str]]  # per part: raw name -> column name
    content: list[dict[str, ContentType]]  # per part: raw name -> the type its content has
    nested: NestedNames  # the batch's struct field names
    mode: EvolutionMode = "evolve"
    unmatched_hints: list[str] = field(default_factory=list)  # hinted columns absent from the batch
    write: WriteSettings = field(default_factory=WriteSettings)
    projection: list[ProjectedColumn] = field(default_factory=list)
    converted: list[TypeConflict] = field(default_factory=list)  # text fed into typed columns, checked per value
    null_values: tuple[str, ...] | None = None  # the table's own missing-value tokens (text columns too)

    @property
    def spec(self) -> str:
        return spec_text(self.partitions)

    @property
    def checked(self) -> list[TypeConflict]:
        """Columns whose values may not fit: their quarantined rows are counted for the report."""
        return [*self.plan.conflicts, *self.converted]

    def new_columns(self) -> list[str]:
        sources = {p.source for p in self.partitions}
        return [c.column for c in self.plan.changes if c.kind == "add_column" and c.column not in sources
                and c.column != RESCUED_COLUMN]

    def drop_pending(self, pending: list[str]) -> None:
        """Leave out new columns that are NULL in every row of the batch: their type would be a guess."""
        if pending:
            self.plan.columns = tuple(c for c in self.plan.columns if c.name not in pending)
            self.plan.changes = [c for c in self.plan.changes if c.column not in pending]
            self.definition = replace(self.definition, columns=self.plan.columns)


def _partitions(request: IngestRequest, existing: TableState, table: str) -> list[PartitionField]:
    spec = request.partition_by
    setting = request.spell("partition_by")
    if existing.exists:
        stored = existing.partition_spec or ""
        if spec is None:
            spec = stored
        elif spec_text(parse_partition_spec(spec, setting)) != spec_text(parse_partition_spec(stored)):
            raise SpecError(f"table {table} is partitioned by {stored or 'nothing'!r}; {setting} {spec!r} would "
                            "change it (not supported)")
    return parse_partition_spec(spec, setting)


def _checked_type(field: T.StructField, column: Column | None) -> C.DataType | None:
    """The type a raw text field takes without sampling, when it feeds an existing column that text
    reaches only by a strict conversion (ISO text into a date, money text into a decimal); None when its
    content must be sampled or its Spark type decides."""
    if column is None:
        return None
    if isinstance(field.dataType, T.StringType) and (column.type in _TYPED_FROM_TEXT or isinstance(column.type, C.Decimal)):
        return column.type
    return None


def _sampled(field: T.StructField, column: Column | None, text: bool) -> bool:
    """Whether a field's content is sampled: it feeds a new column, it holds integers for a timestamp
    column (each batch's content shows the epoch unit it uses), or it is text from a text source feeding
    a column that is not text (its numbers may need a wider type)."""
    return (column is None or (isinstance(field.dataType, INTEGRAL_TYPES) and column.type == C.TIMESTAMP)
            or text and column.type != C.STRING)


def plan_batch(parts: list[PartSchema], existing: TableState, request: IngestRequest, sampler: Sampler,
               database: str, name: str, table_uri: str, origin: str) -> Target:
    """The table this batch makes; ``origin`` is recorded with new columns (where they were first seen)."""
    table = f"{database}.{name}"
    partitions = _partitions(request, existing, table)
    derived = {p.name for p in partitions if p.transform != "identity"}
    current = {c.name: c for c in (*(existing.columns or ()), *existing.partition_keys)}
    table_types = existing.types

    known = existing.known_names()
    names = []
    for i, part in enumerate(parts):  # one mapping for the whole batch: each part sees what the parts before mapped
        names.append(resolve_names(part.fields, derived, known, lambda groups, i=i: sampler.together(i, groups)))
        known = {**names[-1], **known}
    hints = request.hints
    nested = NestedNames({path: n for c in (existing.columns or ())
                          for path, n in recorded_nested_names(c.parameters).items()})
    typed: list[dict[str, ContentType]] = []
    checked: list[dict[str, C.DataType]] = []
    for i, (part, mapping) in enumerate(zip(parts, names)):
        fresh = [f for f in part.fields if _sampled(f, current.get(mapping[f.name]), part.text)]
        fixed = {f.name: t for f in part.fields if f not in fresh
                 and (t := _checked_type(f, current.get(mapping[f.name]))) is not None}
        # A column keeps the type the table has (a string column stays one); a hinted column keeps its content
        # format only when the hint agrees (epoch milliseconds under a timestamp hint).
        content = {raw: t for raw, t in (sampler.content_types(i, fresh) if fresh else {}).items()
                   if hints.get(mapping[raw], t.type) == t.type}
        typed.append(content)
        checked.append(fixed)
    batch: dict[str, C.DataType] = {}
    for part, mapping, content, fixed in zip(parts, names, typed, checked):
        clash = derived & {normalize_identifier(f.name) for f in part.fields}
        if clash:
            raise SpecError(f"{request.spell('partition_by')} {request.partition_by or existing.partition_spec!r}: the "
                            f"partition column {sorted(clash)[0]!r} has the name of a data column; name the derived "
                            "column differently (for example ts_day=day(ts))")
        types = {**{raw: t.type for raw, t in content.items()}, **fixed}
        for column in group_columns(part.fields, mapping, types, nested, table_types):
            batch[column.name] = C.unify(batch[column.name], column.type) if column.name in batch else column.type
    converted = [TypeConflict(mapping[raw], C.to_hive(t), "string")
                 for part, mapping, fixed in zip(parts, names, checked) for raw, t in fixed.items()
                 if isinstance(next(f for f in part.fields if f.name == raw).dataType, T.StringType)]
    table_format = request.format or "parquet"
    promote = "parquet" if table_format == "parquet" else "none"
    unmatched: list[str] = []
    for column_name, hint in hints.items():
        if column_name not in batch:
            unmatched.append(column_name)
            continue
        old = table_types.get(column_name)
        rewritable = (request.widen != "quarantine" and not is_projected(existing.parameters)
                      and old is not None and C.widen(old, hint, "all") == hint)
        if old is not None and C.widen(old, hint, promote) is None and not rewritable:
            raise SpecError(f"{request.spell('hints')} {column_name}: {C.to_hive(hint)} conflicts with column "
                            f"{column_name} of table {table}, which is {C.to_hive(old)}; a {table_format} table "
                            "cannot change it that way. Change the hint or remove it")
        batch[column_name] = hint
    columns_known = {**table_types, **batch}
    keys: list[Column] = []
    for p in partitions:
        stored_key = next((k for k in existing.partition_keys if k.name == p.name), None)
        if stored_key is not None:
            keys.append(stored_key)
            continue
        if p.source not in columns_known:
            raise SpecError(f"{request.spell('partition_by')} {p}: column {p.source!r} is not in the data; columns are "
                            f"{', '.join(sorted(columns_known)) or 'none'}")
        if p.transform != "identity" and columns_known[p.source] not in (C.DATE, C.TIMESTAMP, C.STRING):
            raise SpecError(f"{request.spell('partition_by')} {p}: column {p.source!r} is "
                            f"{C.to_hive(columns_known[p.source])}; a {p.transform} transform needs a date, timestamp "
                            "or ISO-8601 string column")
        keys.append(Column(p.name, p.result_type(columns_known[p.source])))
    check_for_table(request.write, table, table_format, bool(partitions), set(columns_known), request.spell)
    identity = {p.name for p in partitions if p.transform == "identity"}
    change = request.write.change_column  # describes the change, not the row: not a column of the table
    incoming = [Column(n, t) for n, t in batch.items() if n not in identity and not (n == change and n not in table_types)]
    mode: EvolutionMode = request.evolution or existing.evolution or "evolve"  # type: ignore[assignment]
    if mode == "freeze" and not existing.exists:
        raise SpecError(f"{request.spell('evolution')} freeze: table {table} does not exist yet, so there is no "
                        "contract to hold the data to; create it with a first ingest in evolve or rescue mode")
    # a projected table's partitions are never registered nor moved: no file can be rewritten in place
    widening = "quarantine" if request.projection or is_projected(existing.parameters) else request.widen or "auto"
    plan = plan_evolution(existing.columns, incoming, promote=promote, mode=mode, widening=widening)
    converted = [c for c in converted if c.column not in {x.column for x in plan.conflicts}]
    parameters = {**existing.parameters, PARTITION_SPEC: spec_text(partitions), EVOLUTION: mode, ROOT: table_uri}
    projection = table_projection(request, existing.parameters, keys, table, table_uri, parameters,
                                  existing.ledger.moved or bool(existing.ledger.retired))
    target = Target(TableDefinition(database, name, table_format, table_uri, plan.columns, tuple(keys), parameters),
                    plan, partitions, names, typed, nested, mode, unmatched, request.write, projection, converted,
                    request.null_values)
    if mode == "freeze":  # the catalog is a contract: not even annotations change (the ledger keeps names)
        target.definition = replace(target.definition, parameters={**existing.parameters, EVOLUTION: mode,
                                                                   ROOT: table_uri})
        return target
    origin_parameters = {SOURCE: origin, FIRST_SEEN: datetime.now(timezone.utc).isoformat(timespec="seconds")}
    final = {c.name: c.type for c in plan.columns}
    raw_types = [{f.name: f.dataType for f in part.fields} for part in parts]
    parsed = {mapping[raw]: f"{C.to_hive(to_catalog(raw_type[raw]))} ({t.format})"
              for mapping, content, raw_type in zip(names, typed, raw_types)
              for raw, t in content.items() if final.get(mapping[raw]) == t.type}
    plan.columns = annotate(plan.columns, names, origin_parameters, parsed, nested)
    target.definition = replace(target.definition, columns=plan.columns,
                                partition_keys=annotate(tuple(keys), names, origin_parameters, parsed))
    return target
