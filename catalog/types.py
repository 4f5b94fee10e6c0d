"""An engine-neutral type model for table schemas, rendered as Hive/Athena type strings.

Spark, Arrow and Delta types are mapped onto this model by visitors elsewhere; catalog code only ever
sees these types, so it stays free of any engine.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from lakeward.errors import SchemaEvolutionError

PRIMITIVES = (
    "boolean", "tinyint", "smallint", "int", "bigint", "float", "double",
    "string", "binary", "date", "timestamp",
)


@dataclass(frozen=True)
class Primitive:
    name: str

    def __post_init__(self) -> None:
        if self.name not in PRIMITIVES:
            raise SchemaEvolutionError(f"unknown primitive type {self.name!r}; expected one of {PRIMITIVES}")


@dataclass(frozen=True)
class Decimal:
    precision: int
    scale: int


@dataclass(frozen=True)
class Array:
    element: "DataType"


@dataclass(frozen=True)
class Map:
    key: "DataType"
    value: "DataType"


@dataclass(frozen=True)
class Field:
    name: str
    type: "DataType"


@dataclass(frozen=True)
class Struct:
    fields: tuple[Field, ...]

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


DataType = Primitive | Decimal | Array | Map | Struct

BOOLEAN, TINYINT, SMALLINT, INT, BIGINT = (Primitive(n) for n in PRIMITIVES[:5])
FLOAT, DOUBLE, STRING, BINARY, DATE, TIMESTAMP = (Primitive(n) for n in PRIMITIVES[5:])

INTEGERS = ("tinyint", "smallint", "int", "bigint")
INTEGER_DIGITS = {"tinyint": 3, "smallint": 5, "int": 10, "bigint": 19}
MAX_DECIMAL_PRECISION = 38


def to_hive(t: DataType) -> str:
    """Render a type as Glue/Athena DDL type text (struct<a:int,b:array<string>>)."""
    if isinstance(t, Primitive):
        return t.name
    if isinstance(t, Decimal):
        return f"decimal({t.precision},{t.scale})"
    if isinstance(t, Array):
        return f"array<{to_hive(t.element)}>"
    if isinstance(t, Map):
        return f"map<{to_hive(t.key)},{to_hive(t.value)}>"
    return "struct<" + ",".join(f"{f.name}:{to_hive(f.type)}" for f in t.fields) + ">"


_TRINO_NAMES = {"int": "integer", "float": "real", "string": "varchar", "binary": "varbinary",
                "timestamp": "timestamp(3)"}


def to_trino(t: DataType) -> str:
    """The type as Athena's engine names it (information_schema.columns): varchar, row(a integer), ..."""
    if isinstance(t, Primitive):
        return _TRINO_NAMES.get(t.name, t.name)
    if isinstance(t, Decimal):
        return f"decimal({t.precision},{t.scale})"
    if isinstance(t, Array):
        return f"array({to_trino(t.element)})"
    if isinstance(t, Map):
        return f"map({to_trino(t.key)}, {to_trino(t.value)})"
    return "row(" + ", ".join(f"{f.name} {to_trino(f.type)}" for f in t.fields) + ")"


_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*|\d+|[<>(),:])")
_ALIASES = {"integer": "int", "long": "bigint", "short": "smallint", "byte": "tinyint", "real": "float",
            "varchar": "string", "char": "string", "timestamp_ntz": "timestamp"}


def parse_hive(text: str) -> DataType:
    """Parse Glue/Hive type text back into the model; raises naming the offending text."""
    tokens = _TOKEN.findall(text)
    if "".join(tokens).replace(" ", "") != re.sub(r"\s+", "", text):
        raise SchemaEvolutionError(f"cannot parse catalog type {text!r}")
    parser = _Parser(tokens, text)
    result = parser.type()
    if parser.pos != len(tokens):
        raise SchemaEvolutionError(f"trailing text in catalog type {text!r}")
    return result


class _Parser:
    def __init__(self, tokens: list[str], text: str):
        self.tokens, self.text, self.pos = tokens, text, 0

    def take(self, expected: str | None = None) -> str:
        if self.pos >= len(self.tokens):
            raise SchemaEvolutionError(f"unexpected end of catalog type {self.text!r}")
        tok = self.tokens[self.pos]
        if expected is not None and tok != expected:
            raise SchemaEvolutionError(f"expected {expected!r} at {tok!r} in catalog type {self.text!r}")
        self.pos += 1
        return tok

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def type(self) -> DataType:
        name = self.take().lower()
        name = _ALIASES.get(name, name)
        if name == "decimal":
            precision, scale = 10, 0
            if self.peek() == "(":
                self.take("(")
                precision = int(self.take())
                scale = 0
                if self.peek() == ",":
                    self.take(",")
                    scale = int(self.take())
                self.take(")")
            if not 1 <= precision <= 38 or not 0 <= scale <= precision:
                raise SchemaEvolutionError(f"decimal({precision},{scale}) in catalog type {self.text!r}: Athena "
                                           "takes a precision of 1 to 38 and a scale of 0 to the precision")
            return Decimal(precision, scale)
        if name == "string" and self.peek() == "(":  # varchar(n) / char(n)
            self.take("(")
            self.take()
            self.take(")")
            return STRING
        if name == "array":
            self.take("<")
            element = self.type()
            self.take(">")
            return Array(element)
        if name == "map":
            self.take("<")
            key = self.type()
            self.take(",")
            value = self.type()
            self.take(">")
            return Map(key, value)
        if name == "struct":
            self.take("<")
            fields = []
            while self.peek() != ">":
                field_name = self.take()
                self.take(":")
                fields.append(Field(field_name, self.type()))
                if self.peek() == ",":
                    self.take(",")
            self.take(">")
            return Struct(tuple(fields))
        if name not in PRIMITIVES:
            raise SchemaEvolutionError(f"unsupported type {name!r} in catalog type {self.text!r}")
        return Primitive(name)


def _integer_rank(t: DataType) -> int | None:
    return INTEGERS.index(t.name) if isinstance(t, Primitive) and t.name in INTEGERS else None


def _decimal_of(t: DataType) -> Decimal | None:
    if isinstance(t, Decimal):
        return t
    rank = _integer_rank(t)
    return Decimal(INTEGER_DIGITS[t.name], 0) if rank is not None else None  # type: ignore[union-attr]


Promotion = Literal["all", "parquet", "none"]


def widen(old: DataType, new: DataType, promote: Promotion = "all") -> DataType | None:
    """The narrowest type holding every value of both, or None when there is none on the lattice.

    promote="all" (files of one batch): tinyint < smallint < int < bigint < double; float < double;
    integers < decimal (when the integer's digits fit); decimal(p1,s1) + decimal(p2,s2) ->
    decimal(max integral digits + max scale, max scale) up to 38 digits; date < timestamp.
    promote="parquet" (an existing Parquet table): only what Athena reads from older files written with
    the narrower type: tinyint < smallint < int < bigint and float < double.
    promote="none" (an existing Delta table): no primitive type changes; the Delta protocol needs the
    typeWidening feature for that, which Athena does not read.
    At every level structs merge field by field (new fields appended) and arrays and maps widen their
    element types; anything else is incompatible.
    """
    if old == new:
        return old
    if isinstance(old, Struct) and isinstance(new, Struct):
        return _widen_struct(old, new, promote)
    if isinstance(old, Array) and isinstance(new, Array):
        element = widen(old.element, new.element, promote)
        return Array(element) if element is not None else None
    if isinstance(old, Map) and isinstance(new, Map):
        key, value = widen(old.key, new.key, promote), widen(old.value, new.value, promote)
        return Map(key, value) if key is not None and value is not None else None
    if promote == "none":
        return None
    old_rank, new_rank = _integer_rank(old), _integer_rank(new)
    if old_rank is not None and new_rank is not None:
        return Primitive(INTEGERS[max(old_rank, new_rank)])
    if promote == "parquet":
        return DOUBLE if {old, new} == {FLOAT, DOUBLE} else None
    numeric = {"float", "double"}
    if isinstance(old, Primitive) and isinstance(new, Primitive):
        names = {old.name, new.name}
        if names <= numeric | set(INTEGERS) and names & numeric:
            return DOUBLE
        if names == {"date", "timestamp"}:
            return TIMESTAMP
        return None
    if isinstance(old, (Decimal, Primitive)) and isinstance(new, (Decimal, Primitive)):
        a, b = _decimal_of(old), _decimal_of(new)
        if a is None or b is None:
            # decimal with float/double: double loses exactness, so it is not a widening.
            return None
        scale = max(a.scale, b.scale)
        digits = max(a.precision - a.scale, b.precision - b.scale) + scale
        return Decimal(digits, scale) if digits <= MAX_DECIMAL_PRECISION else None
    return None


def partition_coercible(old: DataType, new: DataType) -> bool:
    """Whether Athena reads a partition whose schema declares ``old`` in a table that declares ``new``.

    Athena (Trino's Hive connector) casts a partition's column to the table's type when the partition's
    schema names a narrower type: an integer to a wider integer, double or decimal; float to double or
    decimal; a decimal to a decimal; field by field inside structs, arrays and maps. So a Parquet table
    may widen bigint to double while older partitions keep declaring, and holding, bigint.
    """
    if old == new:
        return True
    if isinstance(old, Struct) and isinstance(new, Struct):
        return all(new.field(f.name) is None or partition_coercible(f.type, new.field(f.name).type)  # type: ignore[union-attr]
                   for f in old.fields)
    if isinstance(old, Array) and isinstance(new, Array):
        return partition_coercible(old.element, new.element)
    if isinstance(old, Map) and isinstance(new, Map):
        return partition_coercible(old.key, new.key) and partition_coercible(old.value, new.value)
    old_rank, new_rank = _integer_rank(old), _integer_rank(new)
    if old_rank is not None:
        return new_rank is not None and new_rank >= old_rank or new == DOUBLE or isinstance(new, Decimal)
    if old == FLOAT:
        return new == DOUBLE or isinstance(new, Decimal)
    return isinstance(old, Decimal) and isinstance(new, Decimal)


def _widen_struct(old: Struct, new: Struct, promote: Promotion) -> Struct | None:
    fields: list[Field] = []
    for field in old.fields:
        other = new.field(field.name)
        if other is None:
            fields.append(field)
            continue
        merged = widen(field.type, other.type, promote)
        if merged is None:
            return None
        fields.append(Field(field.name, merged))
    fields.extend(f for f in new.fields if old.field(f.name) is None)
    return Struct(tuple(fields))


def unify(a: DataType, b: DataType) -> DataType:
    """Like widen, for two files of one batch: an incompatible pair falls back to string.

    Inside a batch nothing is known to be authoritative, so the type that holds every value is the
    answer; only the table's type is a contract (see widen).
    """
    merged = widen(a, b)
    if merged is not None:
        return merged
    if isinstance(a, Struct) and isinstance(b, Struct):
        fields = [Field(f.name, unify(f.type, b.field(f.name).type) if b.field(f.name) else f.type)
                  for f in a.fields]
        fields.extend(f for f in b.fields if a.field(f.name) is None)
        return Struct(tuple(fields))
    if isinstance(a, Array) and isinstance(b, Array):
        return Array(unify(a.element, b.element))
    return STRING
