"""How a batch becomes part of its table: the write mode and, for merges, the keys and change operations.

- ``append`` (default): the batch's rows are added.
- ``overwrite``: the batch replaces everything the table held.
- ``overwrite-partitions``: the batch replaces only the partitions it has rows for.
- ``merge`` (Delta): rows are upserted on ``merge_keys``; with ``change_column`` (as AWS DMS writes ``Op``)
  each row is an insert (I), update (U) or delete (D). Within a batch the last change of a key wins:
  by ``order_by`` when given, else by source file and position.

A caller's ``batch_id`` is an idempotency key: a batch id the table already committed is not run again.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

from catalog.names import normalize_identifier
from lakeward.errors import SpecError

WriteMode = Literal["append", "overwrite", "overwrite-partitions", "merge"]
WRITE_MODES: tuple[str, ...] = get_args(WriteMode)
CHANGE_OPERATIONS = {"I": "insert", "U": "update", "D": "delete"}
_BATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class WriteSettings:
    mode: WriteMode = "append"
    merge_keys: tuple[str, ...] = ()
    change_column: str | None = None
    order_by: str | None = None
    batch_id: str | None = None

    @property
    def replaces(self) -> bool:
        return self.mode in ("overwrite", "overwrite-partitions")


@dataclass(frozen=True)
class WriteOptions:
    """Write settings given on the command line or as job parameters; None: not given (the spec's holds)."""

    mode: str | None = None
    merge_keys: tuple[str, ...] = ()
    change_column: str | None = None
    order_by: str | None = None
    batch_id: str | None = None

    @property
    def per_table(self) -> list[str]:
        """Options that only make sense for one table."""
        return [o for o, v in (("--merge-key", self.merge_keys), ("--change-column", self.change_column),
                               ("--order-by", self.order_by)) if v]

    def over(self, settings: WriteSettings) -> WriteSettings:
        chosen = WriteSettings(
            (self.mode or settings.mode),  # type: ignore[arg-type]
            tuple(normalize_identifier(k) for k in self.merge_keys) or settings.merge_keys,
            normalize_identifier(self.change_column) if self.change_column else settings.change_column,
            normalize_identifier(self.order_by) if self.order_by else settings.order_by,
            self.batch_id or settings.batch_id)
        check_settings(chosen)
        return chosen


def check_settings(settings: WriteSettings) -> None:
    """What can be checked before the table is known."""
    if settings.mode not in WRITE_MODES:
        raise SpecError(f"--mode {settings.mode!r}: expected one of {', '.join(WRITE_MODES)}")
    if settings.mode == "merge" and not settings.merge_keys:
        raise SpecError("--mode merge needs the key columns: --merge-key COL (repeatable), or merge_keys in the spec")
    if settings.mode != "merge" and (settings.merge_keys or settings.change_column or settings.order_by):
        raise SpecError(f"--merge-key, --change-column and --order-by (merge_keys, change_column, order_by in a spec) "
                        f"apply to --mode merge, not {settings.mode}")
    if settings.batch_id is not None and not _BATCH_ID.match(settings.batch_id):
        raise SpecError(f"--batch-id {settings.batch_id!r}: use 1-100 letters, digits, '.', '_' or '-', "
                        "starting with a letter or digit")


def check_for_table(settings: WriteSettings, table: str, table_format: str, partitioned: bool,
                    columns: set[str]) -> None:
    """What depends on the table: its format, partitioning and columns (partition keys included)."""
    if settings.mode == "merge" and table_format != "delta":
        raise SpecError(f"--mode merge: table {table} is a {table_format} table; merge needs a Delta table "
                        "(ingest it with --format delta), or use --mode overwrite-partitions")
    if settings.mode == "overwrite-partitions" and not partitioned:
        raise SpecError(f"--mode overwrite-partitions: table {table} is not partitioned; use --mode overwrite "
                        "to replace all of it")
    for key in settings.merge_keys:
        if key not in columns:
            raise SpecError(f"--merge-key {key}: table {table} has no column {key!r}; columns are "
                            f"{', '.join(sorted(columns))}")
    for option, name in (("--change-column", settings.change_column), ("--order-by", settings.order_by)):
        if name is not None and name not in columns:
            raise SpecError(f"{option} {name}: the batch has no column {name!r} (names as the table has them: "
                            f"{', '.join(sorted(columns))})")
