"""What to ingest into which table, and how: the request every front door (command line, Glue job, spec
file, Python API) builds. Engine-free: validating a request or a spec never starts Spark.

An error about a setting names it as the user wrote it: ``--partition-by`` on the command line,
``--partition_by`` as a Glue job parameter, ``lakeward.yaml: tables['sales.orders'].partition_by`` in a
spec file, ``partition_by`` through the API (``Origin.spell``).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal, get_args

from catalog import types as C
from catalog.evolution import EVOLUTION_MODES, WIDEN_POLICIES, EvolutionMode, WidenPolicy
from catalog.names import normalize_identifier
from catalog.parameters import ROOT
from catalog.partition_projection import ProjectedColumn
from catalog.schema import TABLE_FORMATS, TableDefinition, TableFormat
from lakeformation.spec import GovernanceSpec
from lakeward.errors import SpecError
from lakeward.quality.policy import QualityRules
from lakeward.tables.write_modes import WriteSettings, check_settings

FrontDoor = Literal["cli", "glue", "api"]
ChangedFiles = Literal["hold", "reingest"]  # what to do with a file ingested before whose content changed


_CLI = {"source": "SOURCE", "hints": "--hint", "merge_keys": "--merge-key", "govern": "--no-govern",
        "null_values": "--null-value",
        "projection": "projection (spec only)"}
_GLUE = {"projection": "projection (spec only)"}


@dataclass(frozen=True)
class Origin:
    """Where a request's settings came from, to name them in errors the way the user wrote them."""

    door: FrontDoor = "api"
    spec: str | None = None  # "lakeward.yaml: tables['sales.orders']" when a spec file declared the table
    given: frozenset[str] = frozenset()  # settings given at the door itself, which win over the spec

    def spell(self, setting: str) -> str:
        if self.spec is not None and setting not in self.given:
            return f"{self.spec}.{setting}"
        if self.door == "cli":
            return _CLI.get(setting, "--" + setting.replace("_", "-"))
        if self.door == "glue":
            return _GLUE.get(setting, "--" + setting)
        return setting


@dataclass(frozen=True)
class IngestRequest:
    table: str  # DB.TABLE
    source: str | None = None  # files or a folder; None when the caller hands over a DataFrame
    format: TableFormat | None = None  # None: the existing table's format, else parquet
    partition_by: str | None = None
    lake: str = "lake"
    evolution: EvolutionMode | None = None  # None: the table's stored mode, else evolve
    hints: dict[str, C.DataType] = field(default_factory=dict)  # column -> type, overriding inference
    governance: GovernanceSpec | None = None  # None: the built-in default (lakeformation.spec.DEFAULT)
    govern: bool = True  # classify PII and apply Lake Formation tags
    write: WriteSettings = field(default_factory=WriteSettings)  # mode, merge keys, the caller's batch id
    projection: tuple[ProjectedColumn, ...] = ()  # Athena partition projection to declare (Parquet)
    changed_files: ChangedFiles | None = None  # a file ingested before whose content changed; None: hold
    widen: WidenPolicy | None = None  # a widening older files cannot follow; None: auto
    # the table's missing-value tokens: NULL in every column, text included; None: NA, NULL, ... (in typed columns)
    null_values: tuple[str, ...] | None = None
    quality: QualityRules | None = None  # the table's DQDL rules, checked in every batch
    origin: Origin = field(default_factory=Origin, compare=False)

    def spell(self, setting: str) -> str:
        return self.origin.spell(setting)

    def check(self) -> None:
        """What can be checked before the table is known."""
        if self.changed_files is not None and self.changed_files not in get_args(ChangedFiles):
            raise SpecError(f"{self.spell('changed_files')} {self.changed_files!r}: expected one of "
                            f"{', '.join(get_args(ChangedFiles))}")
        if self.widen is not None and self.widen not in WIDEN_POLICIES:
            raise SpecError(f"{self.spell('widen')} {self.widen!r}: expected one of {', '.join(WIDEN_POLICIES)}")
        if self.format is not None and self.format not in TABLE_FORMATS:
            raise SpecError(f"{self.spell('format')} {self.format!r}: expected one of {', '.join(TABLE_FORMATS)}")
        if self.evolution is not None and self.evolution not in EVOLUTION_MODES:
            raise SpecError(f"{self.spell('evolution')} {self.evolution!r}: expected one of "
                            f"{', '.join(EVOLUTION_MODES)}")
        check_settings(self.write, self.spell)
        parse_table_name(self.table, self.spell("table"))


def parse_table_name(text: str, setting: str = "table") -> tuple[str, str]:
    parts = text.split(".")
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise SpecError(f"{setting} {text!r}: expected DB.TABLE, for example sales.orders")
    return normalize_identifier(parts[0]), normalize_identifier(parts[1])


def new_batch_id() -> str:
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"


def table_root(table: TableDefinition) -> str:
    """Where a table's ledger, lock and staging live (an overwritten Parquet table's data may move)."""
    return table.parameters.get(ROOT) or table.location


def require_s3_lakes(requests: list[IngestRequest]) -> None:
    """Inside a Glue job run the lake must be on S3: a local path is a folder of the job's container, and
    the catalog would register file:// locations that nothing else can read."""
    for request in requests:
        if not request.lake.startswith("s3://"):
            spec = request.origin.spec
            setting = (f"{spec.split(': tables[')[0]}: lake" if spec and "lake" not in request.origin.given
                       else "--lake")  # the spec's lake is a top-level key, not a table's
            raise SpecError(f"{request.table}: on AWS Glue the lake must be an s3:// URI, got {request.lake!r} "
                            f"(set {setting} s3://bucket/prefix)")
