"""Values that are really numbers, timestamps, dates, booleans or decimals, decided from their content.

Every text value is put in one class by strict patterns (below), and a field's classes decide its type:

- in text sources (CSV, TSV), where every value is text: integers -> bigint (decimal(38,0) past bigint,
  text past 38 digits); integers and fractions -> double (decimal when a value has more significant
  digits than a double keeps; text past 38); money-like decimals, one fixed number of 2 to 4 places in
  every value ("12.50") -> decimal(38,s). A value with a leading zero ("02134", "007") makes the column
  text: it is a code, and a number would lose the zeros;
- in every source: ISO-8601 dates, ISO-8601 timestamps (with or without zone), true/false, money-like
  decimals; integers in a column named like a time (created_at, event_ts, ...): epoch seconds or
  milliseconds, when every value lies between 2000-01-01 and 2100-01-01 in that unit.

Missing-value tokens (``NA``, ``N/A``, ``NULL``, ``null``, ``\\N``, ``NaN``, ``#N/A``, ``-``... see
``NULL_TOKENS``; R, spreadsheets and databases write them for a missing value) do not decide a type: a
number column with a few ``NA`` is a number column whose tokens become NULL (counted in the report). A
column that is text keeps its tokens as text.

Text sources are classified over all their rows (Spark's own CSV inference reads them all too); JSON
strings over the first ``LAKEWARD_TYPE_SAMPLE_ROWS`` records. Values past a sample are checked when they
are converted, and one that does not parse is quarantined with its reason. Patterns are strict on
purpose: Spark would also cast "2024" to a timestamp, which a year column is not.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from catalog import types as C
from catalog.names import normalize_identifier

NULL_TOKENS = ("NA", "N/A", "n/a", "NULL", "null", "Null", "None", "\\N", "NaN", "nan", "#N/A", "#NA", "-", "")
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
# At most microseconds: Spark keeps no more, and a value it would cut short is quarantined instead.
ISO_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
BOOLEAN = r"(?i)^(true|false)$"
MONEY = r"^[+-]?(0|[1-9][0-9]{0,33})\.[0-9]{2,4}$"
INTEGER = r"^[+-]?(0|[1-9][0-9]*)$"
LEADING_ZERO = r"^[+-]?0[0-9]"
FRACTION = r"^[+-]?(0|[1-9][0-9]*)?\.[0-9]+([eE][+-]?[0-9]+)?$|^[+-]?(0|[1-9][0-9]*)[eE][+-]?[0-9]+$"
DOUBLE_DIGITS = 15  # significant digits a double keeps exactly
TIME_NAME = re.compile(r"(^|_)(at|ts|time|timestamp|datetime|epoch|date)(_(ms|millis|s|secs|seconds))?$")
EPOCH_RANGE_S = (946_684_800, 4_102_444_800)  # [2000-01-01, 2100-01-01)
EPOCH_SECONDS, EPOCH_MILLIS = "epoch seconds", "epoch milliseconds"
INTEGRAL_TYPES = (T.ByteType, T.ShortType, T.IntegerType, T.LongType)


@dataclass(frozen=True)
class ContentType:
    type: C.DataType
    format: str  # how the raw values read, recorded with the column (lakeward.parsed_from)


def epoch_unit(parsed_from: str | None) -> str | None:
    """The epoch unit a column's recorded parse format names, if any."""
    for unit in (EPOCH_MILLIS, EPOCH_SECONDS):
        if parsed_from and unit in parsed_from:
            return unit
    return None


def from_epoch(expr: SparkColumn, unit: str) -> tuple[SparkColumn, SparkColumn]:
    """An integer read as epoch seconds or milliseconds, and the condition that it lies outside the range
    the column was typed on (such a value is quarantined rather than read as a 1970 or 2400 time)."""
    scale = 1000 if unit == EPOCH_MILLIS else 1
    low, high = EPOCH_RANGE_S[0] * scale, EPOCH_RANGE_S[1] * scale
    converted = F.timestamp_millis(expr) if unit == EPOCH_MILLIS else F.timestamp_seconds(expr)
    outside = (expr < F.lit(low)) | (expr >= F.lit(high))
    return F.when(~outside, converted), expr.isNotNull() & outside


def _quoted(name: str) -> SparkColumn:
    return F.col("`" + name.replace("`", "``") + "`")


# Classes of a text value, as bits: a field's classes are OR-ed together over its values.
_TOKEN, _INT, _BIG_INT, _HUGE, _ZERO_CODE, _FRACTION, _LONG_FRACTION = 1, 2, 4, 8, 16, 32, 64
_DATE, _TIMESTAMP, _BOOL, _TEXT = 128, 256, 512, 1024
_MONEY = {2: 2048, 3: 4096, 4: 8192}  # by number of places
_NUMBERS = _INT | _BIG_INT | _FRACTION | _LONG_FRACTION | sum(_MONEY.values())


def null_token(value: SparkColumn, tokens: tuple[str, ...] = NULL_TOKENS) -> SparkColumn:
    """Whether a text value is a missing-value token (surrounding spaces ignored)."""
    return F.trim(value).isin(*tokens)


def _value_class(value: SparkColumn, tokens: tuple[str, ...]) -> SparkColumn:
    """The class of one trimmed text value (NULL for NULL); a value counts as a date or timestamp only if
    Spark can also convert it ("2024-02-30" cannot)."""
    digits = F.length(F.regexp_replace(value, r"[^0-9]", ""))
    significant = F.length(F.regexp_replace(F.regexp_replace(value, r"[eE].*$|[^0-9]", ""), r"^0+", ""))
    places = F.length(F.regexp_extract(value, r"\.([0-9]+)$", 1))
    money = F.when(places == 2, _MONEY[2]).when(places == 3, _MONEY[3]).otherwise(_MONEY[4])
    return (F.when(value.isNull(), F.lit(None)).when(null_token(value, tokens), _TOKEN)
            .when(value.rlike(INTEGER), F.when(value.cast("bigint").isNotNull(), _INT)
                  .when(digits <= 38, _BIG_INT).otherwise(_HUGE))
            .when(value.rlike(LEADING_ZERO) & ~value.rlike(r"^[+-]?0[.eE]"), _ZERO_CODE)
            .when(value.rlike(MONEY), money.bitwiseOR(F.when(significant > DOUBLE_DIGITS, _LONG_FRACTION).otherwise(0)))
            .when(value.rlike(FRACTION), F.when(significant <= DOUBLE_DIGITS, _FRACTION)
                  .when(value.rlike(r"^[^eE]*$") & (digits <= 38), _LONG_FRACTION).otherwise(_HUGE))
            .when(value.rlike(ISO_DATE) & value.cast("date").isNotNull(), _DATE)
            .when(value.rlike(ISO_TIMESTAMP) & value.cast("timestamp").isNotNull(), _TIMESTAMP)
            .when(value.rlike(BOOLEAN), _BOOL)
            .otherwise(_TEXT))


def _string_checks(value: SparkColumn, classes: SparkColumn, i: int) -> list[SparkColumn]:
    def longest(bits: int, pattern: str) -> SparkColumn:
        return F.max(F.when(classes.bitwiseAND(bits) > 0, F.length(F.regexp_extract(value, pattern, 1))))
    places = _LONG_FRACTION | _FRACTION | sum(_MONEY.values())
    return [F.count(value).alias(f"n{i}"), F.bit_or(classes).alias(f"c{i}"),
            longest(places, r"\.([0-9]+)$").alias(f"s{i}"), longest(_BIG_INT | _LONG_FRACTION, r"^[+-]?([0-9]*)").alias(f"p{i}")]


def text_type(classes: int, text_source: bool, scale: int | None = None, whole_digits: int | None = None
              ) -> ContentType | None:
    """The type a text field's value classes (OR-ed) give it, or None: it stays text. ``scale`` and
    ``whole_digits`` are the most places and integer digits among its long numbers."""
    seen = classes & ~_TOKEN
    if not seen or seen & (_TEXT | _ZERO_CODE | _HUGE):
        return None
    if seen == _DATE:
        return ContentType(C.DATE, "ISO-8601 date")
    if not seen & ~(_DATE | _TIMESTAMP):
        return ContentType(C.TIMESTAMP, "ISO-8601 timestamp")
    if seen == _BOOL:
        return ContentType(C.BOOLEAN, "true/false")
    if seen & ~_NUMBERS:
        return None
    money = [places for places, bit in _MONEY.items() if seen & bit]
    if len(money) == 1 and not seen & ~(_MONEY[money[0]] | _LONG_FRACTION):
        return ContentType(C.Decimal(38, money[0]), f"decimal with {money[0]} places")
    if not text_source:
        return None
    if seen == _INT:
        return ContentType(C.BIGINT, "integer text")
    if not seen & ~(_INT | _BIG_INT):
        return ContentType(C.Decimal(38, 0), "integer text past bigint")
    if seen & (_BIG_INT | _LONG_FRACTION):  # a double would round them: a decimal that holds every value
        places = scale or 0
        if (whole_digits or 0) + places > 38:
            return None
        return ContentType(C.Decimal(38, places), f"decimal text with up to {places} places")
    return ContentType(C.DOUBLE, "number text")


def _epoch_checks(value: SparkColumn, i: int) -> list[SparkColumn]:
    low, high = EPOCH_RANGE_S
    return [F.count(value).alias(f"n{i}"),
            F.sum(((value >= low) & (value < high)).cast("int")).alias(f"s{i}"),
            F.sum(((value >= low * 1000) & (value < high * 1000)).cast("int")).alias(f"ms{i}")]


def infer_content_types(df: DataFrame, fields: list[T.StructField], rows: int | None,
                        text_source: bool = False, tokens: tuple[str, ...] = NULL_TOKENS) -> dict[str, ContentType]:
    """Raw name -> the type its values all have among the first ``rows`` records (all of them when
    None); absent: the field keeps its Spark type. Numbers are read from text only in ``text_source``."""
    strings = [f.name for f in fields if isinstance(f.dataType, T.StringType)]
    epochs = [f.name for f in fields if isinstance(f.dataType, INTEGRAL_TYPES)
              and TIME_NAME.search(normalize_identifier(f.name))]
    if not strings and not epochs or rows is not None and rows <= 0:
        return {}
    names = strings + epochs
    sample = df.select(*[(F.trim(_quoted(n)) if i < len(strings) else _quoted(n)).alias(f"v{i}")
                         for i, n in enumerate(names)])
    if rows is not None:
        sample = sample.limit(rows)
    sample = sample.select("*", *[_value_class(F.col(f"v{i}"), tokens).alias(f"k{i}") for i in range(len(strings))])
    checks = [c for i in range(len(strings)) for c in _string_checks(F.col(f"v{i}"), F.col(f"k{i}"), i)]
    checks += [c for i in range(len(strings), len(names)) for c in _epoch_checks(F.col(f"v{i}"), i)]
    row = sample.agg(*checks).collect()[0]
    typed: dict[str, ContentType] = {}
    for i, name in enumerate(names):
        seen = row[f"n{i}"]
        if not seen:
            continue
        if name in epochs:
            if row[f"s{i}"] == seen:
                typed[name] = ContentType(C.TIMESTAMP, EPOCH_SECONDS)
            elif row[f"ms{i}"] == seen:
                typed[name] = ContentType(C.TIMESTAMP, EPOCH_MILLIS)
        elif (found := text_type(row[f"c{i}"] or 0, text_source, row[f"s{i}"], row[f"p{i}"])) is not None:
            typed[name] = found
    return typed
