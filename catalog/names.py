"""Athena-safe identifiers: lowercase [a-z0-9_], at most 255 characters, never empty, never colliding.

The rule (deterministic and idempotent):
1. Unicode is folded to ASCII (NFKD, accents dropped); camelCase boundaries become underscores
   (orderId -> order_id, HTTPCode -> http_code).
2. Lowercase; every run of characters outside [a-z0-9] becomes one underscore; underscores at the ends
   are removed.
3. A name left empty (only symbols or non-Latin script) becomes ``col_`` + 8 hex digits of the raw
   name's SHA-1, so distinct raw names stay distinct; a name starting with a digit gets a ``c_`` prefix.
4. Names longer than 255 characters keep 246 characters plus ``_`` and 8 hex digits of the raw name's hash.
Within one record type, two distinct raw names that normalise alike get suffixes ``_2``, ``_3``... in
the order they appear.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata

MAX_LENGTH = 255

_CAMEL_LOWER_UPPER = re.compile(r"([a-z0-9])([A-Z])")
_CAMEL_ACRONYM = re.compile(r"([A-Z]+)([A-Z][a-z])")
_NOT_ALLOWED = re.compile(r"[^a-z0-9]+")


def _digest(raw: str) -> str:
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()[:8]


def normalize_identifier(raw: str) -> str:
    folded = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode("ascii")
    split = _CAMEL_ACRONYM.sub(r"\1_\2", _CAMEL_LOWER_UPPER.sub(r"\1_\2", folded))
    name = _NOT_ALLOWED.sub("_", split.lower()).strip("_")
    if not name:
        name = f"col_{_digest(raw)}"
    elif name[0].isdigit():
        name = f"c_{name}"
    if len(name) > MAX_LENGTH:
        name = f"{name[:MAX_LENGTH - 9]}_{_digest(raw)}"
    return name


def _with_suffix(base: str, n: int) -> str:
    suffix = f"_{n}"
    return base[:MAX_LENGTH - len(suffix)] + suffix


def assign_names(raw_names: list[str], taken: set[str] | None = None) -> dict[str, str]:
    """Map each distinct raw name of one record type to a unique normalised name.

    ``taken`` holds names already used (for example by partition columns); they are avoided too.
    """
    used = set(taken or ())
    mapping: dict[str, str] = {}
    for raw in raw_names:
        if raw in mapping:
            continue
        base = normalize_identifier(raw)
        name, n = base, 1
        while name in used:
            n += 1
            name = _with_suffix(base, n)
        used.add(name)
        mapping[raw] = name
    return mapping


RAW_NAMES_PARAMETER = "lakeward.raw_names"


def recorded_raw_names(parameters: dict[str, str]) -> list[str]:
    """The raw names a column was fed from, as recorded in its Glue column Parameters."""
    text = parameters.get(RAW_NAMES_PARAMETER)
    return list(json.loads(text)) if text else []


NESTED_RAW_NAMES_PARAMETER = "lakeward.nested_raw_names"


def recorded_nested_names(parameters: dict[str, str]) -> dict[str, dict[str, str]]:
    """Struct path -> {raw field name: field name}, as recorded in a column's Parameters."""
    text = parameters.get(NESTED_RAW_NAMES_PARAMETER)
    return {path: dict(names) for path, names in json.loads(text).items()} if text else {}


class NestedNames:
    """The field names of nested structs, decided once per batch and stable over time.

    Paths are column-rooted and normalised: ``customer``, ``customer.address``, ``items[]``, ``attrs{}``.
    Within one struct, a raw name keeps the field it was recorded with (every mapping is recorded, in
    first-seen order), even when another recorded raw name feeds the same field: the two are merged, and a
    record that sets both is quarantined by the conversion. A new raw name equal to a field the table has
    takes it; other new raw names are normalised, and those that normalise like a field already taken in
    this struct get suffixes. The same struct gets the same answer for the rest of the batch, so the schema
    and the conversion of the data use one mapping.
    """

    def __init__(self, recorded: dict[str, dict[str, str]] | None = None):
        self._assigned: dict[str, dict[str, str]] = {p: dict(m) for p, m in (recorded or {}).items()}
        self._new: dict[str, dict[str, str]] = {}
        self._decided: dict[tuple[str, tuple[str, ...]], dict[str, str]] = {}

    def names(self, path: str, raws: list[str], existing: tuple[str, ...] = ()) -> dict[str, str]:
        """Raw field name -> field name for one struct at ``path`` whose fields are ``raws``; ``existing``:
        the table's fields there. Several raw names may share a field (recorded ones only)."""
        key = (path, tuple(raws))
        if key in self._decided:
            return self._decided[key]
        assigned = self._assigned.setdefault(path, {})
        mapping = {raw: assigned[raw] for raw in raws if raw in assigned}
        used = set(mapping.values())
        for raw in raws:
            if raw not in mapping and raw in existing and raw not in used:
                mapping[raw] = raw
                used.add(raw)
        mapping.update(assign_names([r for r in raws if r not in mapping], taken=used))
        for raw in raws:
            if raw not in assigned:
                assigned[raw] = mapping[raw]
                self._new.setdefault(path, {})[raw] = mapping[raw]
        self._decided[key] = result = {raw: mapping[raw] for raw in raws}
        return result

    def new_records(self, column: str) -> dict[str, dict[str, str]]:
        """What this batch mapped anew under a column."""
        return {p: m for p, m in self._new.items() if p == column or p.startswith((f"{column}.", f"{column}[",
                                                                                   f"{column}{{"))}
