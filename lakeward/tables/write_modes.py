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
from collections.abc import Callable
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
    def given(self) -> list[str]:
        """The settings given (they win over a spec's)."""
        return [s for s in ("mode", "merge_keys", "change_column", "order_by", "batch_id") if getattr(self, s)]

    def over(self, settings: WriteSettings) -> WriteSettings:
        return WriteSettings(
            (self.mode or settings.mode),  # type: ignore[arg-type]
            tuple(normalize_identifier(k) for k in self.merge_keys) or settings.merge_keys,
            normalize_identifier(self.change_column) if self.change_column else settings.change_column,
            normalize_identifier(self.order_by) if self.order_by else settings.order_by,
            self.batch_id or settings.batch_id)


def _flag(setting: str) -> str:
    return {"merge_keys": "--merge-key"}.get(setting, "--" + setting.replace("_", "-"))


def check_settings(settings: WriteSettings, spell: Callable[[str], str] = _flag) -> None:
    """What can be checked before the table is known; ``spell`` names a setting as the user wrote it."""
    if settings.mode not in WRITE_MODES:
        raise SpecError(f"{spell('mode')} {settings.mode!r}: expected one of {', '.join(WRITE_MODES)}")
    if settings.mode == "merge" and not settings.merge_keys:
        raise SpecError(f"{spell('mode')} merge needs the key columns: {spell('merge_keys')}")
    if settings.mode != "merge" and (settings.merge_keys or settings.change_column or settings.order_by):
        given = [spell(s) for s in ("merge_keys", "change_column", "order_by") if getattr(settings, s)]
        raise SpecError(f"{', '.join(given)} apply to {spell('mode')} merge, not {settings.mode}")
    if settings.batch_id is not None and not _BATCH_ID.match(settings.batch_id):
        raise SpecError(f"{spell('batch_id')} {settings.batch_id!r}: use 1-100 letters, digits, '.', '_' or '-', "
                        "starting with a letter or digit")


def check_for_table(settings: WriteSettings, table: str, table_format: str, partitioned: bool,
                    columns: set[str], spell: Callable[[str], str] = _flag) -> None:
    """What depends on the table: its format, partitioning and columns (partition keys included)."""
    mode = spell("mode")
    if settings.mode == "merge" and table_format != "delta":
        raise SpecError(f"{mode} merge: table {table} is a {table_format} table; merge needs a Delta table "
                        f"(create it with {spell('format')} delta), or use overwrite-partitions")
    if settings.mode == "overwrite-partitions" and not partitioned:
        raise SpecError(f"{mode} overwrite-partitions: table {table} is not partitioned; use {mode} overwrite "
                        "to replace all of it")
    for key in settings.merge_keys:
        if key not in columns:
            raise SpecError(f"{spell('merge_keys')} {key}: table {table} has no column {key!r}; columns are "
                            f"{', '.join(sorted(columns))}")
    for setting, name in (("change_column", settings.change_column), ("order_by", settings.order_by)):
        if name is not None and name not in columns:
            raise SpecError(f"{spell(setting)} {name}: the batch has no column {name!r} (names as the table has "
                            f"them: {', '.join(sorted(columns))})")
