"""Athena partition projection: the table parameters that let Athena compute a Parquet table's partitions
from declared ranges instead of reading them from the catalog (so none is registered one by one).

    projection.enabled = true
    projection.<col>.type = enum | integer | date | injected
    projection.<col>.values / .range / .format / .interval / .interval.unit / .digits
    storage.location.template = <table root>/<col>=${<col>}/...

Pure functions, no engine and no API calls.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from lakeward.errors import SpecError

ProjectionType = Literal["enum", "integer", "date", "injected"]
ENABLED = "projection.enabled"
TEMPLATE = "storage.location.template"
DATE_FORMAT = "yyyy-MM-dd"  # how lakeward names date partition folders
_UNITS = ("YEARS", "MONTHS", "WEEKS", "DAYS", "HOURS", "MINUTES", "SECONDS")
_NOW = re.compile(r"^NOW([+-]\d+(YEARS|MONTHS|WEEKS|DAYS|HOURS|MINUTES|SECONDS))?$")


@dataclass(frozen=True)
class ProjectedColumn:
    name: str
    type: ProjectionType
    values: tuple[str, ...] = ()  # enum
    range: str | None = None  # integer "0,23"; date "2024-01-01,NOW"
    format: str | None = None  # date
    interval: int | None = None
    unit: str | None = None  # date interval unit
    digits: int | None = None  # integer: zero-padded width

    def check(self) -> None:
        """Raise SpecError naming the setting when Athena would refuse this column's projection."""
        where = f"projection.{self.name}"
        if self.digits is not None:
            raise SpecError(f"{where}: lakeward names integer partition folders without zero padding (hour=3, "
                            "not hour=03), so Athena would find nothing with digits; remove digits")
        if self.type == "enum" and not self.values:
            raise SpecError(f"{where}: an enum projection needs values")
        if self.type == "integer":
            bounds = (self.range or "").split(",")
            if len(bounds) != 2 or not all(re.fullmatch(r"-?\d+", b.strip()) for b in bounds):
                raise SpecError(f"{where}: an integer projection needs range: 'LOW,HIGH', for example '0,23'")
        if self.type == "date":
            bounds = (self.range or "").split(",")
            if len(bounds) != 2:
                raise SpecError(f"{where}: a date projection needs range: 'START,END', for example '2024-01-01,NOW'")
            for bound in bounds:
                if not _NOW.match(bound.strip()) and not _is_date(bound.strip()):
                    raise SpecError(f"{where}: range bound {bound.strip()!r} is neither a {DATE_FORMAT} date nor "
                                    "NOW[+-N<UNIT>]")
            if (self.format or DATE_FORMAT) != DATE_FORMAT:
                raise SpecError(f"{where}: lakeward names date partitions {DATE_FORMAT}; format must be {DATE_FORMAT}")
            if self.unit is not None and self.unit.upper() not in _UNITS:
                raise SpecError(f"{where}: unit {self.unit!r} is not one of {', '.join(_UNITS)}")

    def bounds(self) -> tuple[str | None, str | None]:
        """Literal range bounds lakeward can check at ingest (NOW-relative date bounds are left to Athena)."""
        if self.type not in ("integer", "date") or not self.range:
            return None, None
        low, high = (b.strip() for b in self.range.split(","))
        fixed = (lambda b: None if _NOW.match(b) else b) if self.type == "date" else (lambda b: b)
        return fixed(low), fixed(high)


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
        return True
    except ValueError:
        return False


def projection_parameters(columns: list[ProjectedColumn], keys: list[str], root: str) -> dict[str, str]:
    """The Glue table parameters for these projected partition keys (every key must be projected)."""
    named = [c.name for c in columns]
    if sorted(named) != sorted(keys):
        missing = sorted(set(keys) - set(named)) or sorted(set(named) - set(keys))
        raise SpecError(f"projection: Athena projects all partition columns or none; the table's are "
                        f"{', '.join(keys) or 'none'} (check {', '.join(missing)})")
    parameters = {ENABLED: "true",
                  TEMPLATE: root.rstrip("/") + "/" + "/".join(f"{k}=${{{k}}}" for k in keys)}
    for c in columns:
        c.check()
        prefix = f"projection.{c.name}"
        parameters[f"{prefix}.type"] = c.type
        if c.values:
            parameters[f"{prefix}.values"] = ",".join(c.values)
        if c.range:
            parameters[f"{prefix}.range"] = c.range
        if c.type == "date":
            parameters[f"{prefix}.format"] = c.format or DATE_FORMAT
        if c.interval is not None:
            parameters[f"{prefix}.interval"] = str(c.interval)
        if c.unit:
            parameters[f"{prefix}.interval.unit"] = c.unit.upper()
        if c.digits is not None:
            parameters[f"{prefix}.digits"] = str(c.digits)
    return parameters


def is_projected(parameters: dict[str, str]) -> bool:
    return parameters.get(ENABLED, "").lower() == "true"


def projected_columns(parameters: dict[str, str], keys: list[str]) -> list[ProjectedColumn]:
    """The projection a table's parameters declare (the inverse of projection_parameters)."""
    if not is_projected(parameters):
        return []
    result = []
    for k in keys:
        p = f"projection.{k}"
        values = parameters.get(f"{p}.values")
        result.append(ProjectedColumn(
            k, parameters.get(f"{p}.type", "injected"), tuple(values.split(",")) if values else (),  # type: ignore[arg-type]
            parameters.get(f"{p}.range"), parameters.get(f"{p}.format"),
            int(parameters[f"{p}.interval"]) if f"{p}.interval" in parameters else None,
            parameters.get(f"{p}.interval.unit"),
            int(parameters[f"{p}.digits"]) if f"{p}.digits" in parameters else None))
    return result
