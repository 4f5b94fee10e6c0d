"""Trino's Joda-Time patterns (format_datetime, parse_datetime) as DuckDB strftime/strptime formats."""
from __future__ import annotations

from lakeward.errors import QueryError

# letter -> {count: directive}; the entry for the largest count listed covers longer runs.
_FORMAT: dict[str, dict[int, str]] = {
    "y": {1: "%Y", 2: "%y", 3: "%Y"},
    "x": {1: "%G"},
    "M": {1: "%-m", 2: "%m", 3: "%b", 4: "%B"},
    "d": {1: "%-d", 2: "%d"},
    "D": {1: "%-j", 3: "%j"},  # DD (two digits) has no strftime equivalent
    "H": {1: "%-H", 2: "%H"},
    "h": {1: "%-I", 2: "%I"},
    "m": {1: "%-M", 2: "%M"},
    "s": {1: "%-S", 2: "%S"},
    "a": {1: "%p"},
    "E": {1: "%a", 4: "%A"},
    "e": {1: "%u"},
    "w": {2: "%V"},
    "Z": {1: "%z"},
}
# Where strftime and Joda read or write the same letters differently.
_REFUSED = {("y", 2, True): "Joda reads two-digit years around a pivot of now - 30 years",
            ("D", 2, None): "day of year padded to two digits", ("Z", 1, False): "Joda writes +0000, strftime +00"}
_FRACTION = {3: "%g", 6: "%f"}


def _directive(letter: str, count: int, parsing: bool, pattern: str) -> str:
    if letter == "S":
        if count not in _FRACTION:
            raise QueryError(f"Joda pattern {pattern!r}: fractions of a second are supported as SSS or SSSSSS, "
                             f"not {'S' * count}")
        return _FRACTION[count]
    table = _FORMAT.get(letter)
    counts = [c for c in (table or {}) if c <= count]
    if not counts:
        raise QueryError(f"Joda pattern {pattern!r}: {letter * count!r} has no local translation")
    why = _REFUSED.get((letter, count, parsing)) or _REFUSED.get((letter, count, None))
    if why or (letter == "Z" and not parsing):
        raise QueryError(f"Joda pattern {pattern!r}: {letter * count!r} has no local translation "
                         f"({why or _REFUSED[('Z', 1, False)]})")
    directive = table[max(counts)]
    return directive.replace("%-", "%") if parsing else directive  # strptime reads unpadded numbers anyway


def joda_to_strftime(pattern: str, parsing: bool = False) -> str:
    """The strftime (or strptime) format equivalent to a Joda pattern; letters without one are refused."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "'":
            if pattern.startswith("''", i):  # '' outside quoted text is one quote
                out.append("'")
                i += 2
                continue
            literal, i = [], i + 1
            while True:
                end = pattern.find("'", i)
                if end == -1:
                    raise QueryError(f"Joda pattern {pattern!r}: unterminated quoted text")
                literal.append(pattern[i:end])
                if pattern.startswith("''", end):  # '' inside quoted text is one quote
                    literal.append("'")
                    i = end + 2
                    continue
                i = end + 1
                break
            out.append("".join(literal).replace("%", "%%"))
        elif char.isascii() and char.isalpha():
            run = len(pattern) - i - len(pattern[i:].lstrip(char))
            out.append(_directive(char, run, parsing, pattern))
            i += run
        else:
            out.append("%%" if char == "%" else char)
            i += 1
    return "".join(out)
