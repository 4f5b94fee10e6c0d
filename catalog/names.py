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
