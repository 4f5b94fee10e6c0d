"""DQDL, AWS Glue Data Quality's rule language: parsed into rules lakeward evaluates. No engine here.

    Rules = [ RowCount > 0, IsComplete "order_id", ColumnValues "status" in ["NEW", "PAID"],
              (ColumnValues "age" > 21) or (ColumnValues "age" = NULL) ]

The syntax follows the grammar of the open-source DQDL parser (awslabs/dqdl): rule types and keywords
are case-sensitive; a rule is ``RuleType param* condition? where? labels? (with tag)*``; composites
combine parenthesised rules with ``and``/``or`` (``and`` binds tighter); conditions are ``between X and
Y`` (exclusive bounds), ``not between``, ``>``, ``>=``, ``<``, ``<=``, ``=``, ``!=``, ``in [...]``,
``not in [...]``, ``matches "re"``, ``not matches``, over numbers (with + - * / and parentheses), quoted
strings, ``NULL``/``EMPTY``/``WHITESPACES_ONLY``, dates (``"2024-01-01"``, ``(now() - 3 days)``) and
durations (``24 hours``). Comments start with ``#``. ``Metadata``, ``DataSources``, variables
(``allowed = ["A", "B"]`` then ``in $allowed``) and ``DefaultLabels`` are read.

Dynamic thresholds (``RowCount > avg(last(10)) * 0.8``) are kept as expressions and computed from the
rule's history when it runs. A rule lakeward cannot evaluate is refused here, with its text: an
unknown rule type, function or parameter count, or a condition the rule type does not take.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Union

from lakeward.errors import SpecError


class DQDLError(SpecError):
    """A ruleset that is not valid DQDL, or a rule lakeward cannot evaluate."""


KEYWORDS = {"NULL", "null", "EMPTY", "empty", "WHITESPACES_ONLY", "whitespaces_only"}


@dataclass(frozen=True)
class Keyword:
    name: str  # NULL | EMPTY | WHITESPACES_ONLY


@dataclass(frozen=True)
class Duration:
    amount: float
    unit: str  # days | hours | minutes

    @property
    def hours(self) -> float:
        return self.amount * {"days": 24.0, "hours": 1.0, "minutes": 1 / 60}[self.unit]


@dataclass(frozen=True)
class RelativeTime:
    """``now()`` plus or minus a duration; evaluated when the rule runs."""

    sign: int = 0  # 0: now() itself
    offset: Duration | None = None


@dataclass(frozen=True)
class Dynamic:
    """A threshold computed from the rule's own history when it runs: ``avg(last(10)) * 0.8``.

    ``last(k)`` is the rule's metric in its k latest evaluations (newest first); ``avg``, ``min``, ``max``,
    ``std`` (population) and ``index(list, i)`` (0-based) reduce it; numbers and + - * / combine them."""

    op: str  # call name, or + - * / for arithmetic, or "num"
    args: tuple["Dynamic | float", ...]

    def text(self) -> str:
        if self.op == "num":
            return number_text(self.args[0])  # type: ignore[arg-type]
        if self.op in "+-*/":
            return f"{_shown(self.args[0])} {self.op} {_shown(self.args[1])}"
        return f"{self.op}({', '.join(_shown(a) for a in self.args)})"

    def last_needed(self) -> int:
        if self.op == "last":
            return int(self.args[0])  # type: ignore[arg-type]
        return max([a.last_needed() for a in self.args if isinstance(a, Dynamic)] or [0])


def number_text(value: float) -> str:
    """A number as a rule's text keeps it: exactly (1234567, not 1.23457e+06)."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e18 else repr(float(value))


def _shown(value: "Dynamic | float") -> str:
    return value.text() if isinstance(value, Dynamic) else number_text(value)


FUNCTIONS = {"last", "avg", "min", "max", "std", "index"}
Operand = Union[float, str, Keyword, Duration, RelativeTime, Dynamic]


@dataclass(frozen=True)
class Condition:
    op: str  # between | not between | > | >= | < | <= | = | != | in | not in | matches | not matches
    operands: tuple[Operand, ...]

    def text(self) -> str:
        def show(o: Operand) -> str:
            if isinstance(o, Keyword):
                return o.name
            if isinstance(o, str):
                return '"' + o.replace("\\", "\\\\").replace('"', '\\"') + '"'
            if isinstance(o, Duration):
                return f"{o.amount:g} {o.unit}"
            if isinstance(o, RelativeTime):
                return "now()" if not o.sign else f"(now() {'+' if o.sign > 0 else '-'} {show(o.offset)})"  # type: ignore[arg-type]
            if isinstance(o, Dynamic):
                return o.text()
            return number_text(o)
        if self.op in ("between", "not between"):
            return f"{self.op} {show(self.operands[0])} and {show(self.operands[1])}"
        if self.op in ("in", "not in"):
            return f"{self.op} [{', '.join(show(o) for o in self.operands)}]"
        return f"{self.op} {show(self.operands[0])}"


@dataclass
class Rule:
    type: str
    params: tuple[str, ...]
    condition: Condition | None
    where: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    threshold: Condition | None = None  # with threshold <condition>
    tags: dict[str, str] = field(default_factory=dict)  # other with-tags (timeZone, ignoreCase, format)
    source: str | None = field(default=None, compare=False, repr=False)  # a top-level rule as written

    @property
    def text(self) -> str:
        """The rule as DQDL writes it (Glue reports rules by this text)."""
        parts = [self.type, *('"' + p.replace('"', '\\"') + '"' for p in self.params)]
        if self.condition is not None:
            parts.append(self.condition.text())
        if self.where is not None:
            parts.append('where "' + self.where.replace('"', '\\"') + '"')
        if self.threshold is not None:
            parts.append("with threshold " + self.threshold.text())
        parts += [f'with {k} = "{v}"' for k, v in self.tags.items()]
        return " ".join(parts)


@dataclass
class Composite:
    op: str  # and | or
    left: "Node"
    right: "Node"
    labels: dict[str, str] = field(default_factory=dict)
    source: str | None = field(default=None, compare=False, repr=False)

    @property
    def text(self) -> str:
        return f"({self.left.text}) {self.op} ({self.right.text})"

    def leaves(self) -> list[Rule]:
        return [*_leaves(self.left), *_leaves(self.right)]


Node = Union[Rule, Composite]


def _leaves(node: Node) -> list[Rule]:
    return node.leaves() if isinstance(node, Composite) else [node]


@dataclass
class Ruleset:
    rules: list[Node]
    metadata: dict[str, object] = field(default_factory=dict)
    sources: dict[str, object] = field(default_factory=dict)

    def leaves(self) -> list[Rule]:
        return [leaf for node in self.rules for leaf in _leaves(node)]


# What lakeward evaluates: rule type -> (parameter counts, condition kind). Kinds: number (a metric),
# values (ColumnValues: numbers, strings, keywords, dates), duration, none (boolean rules), type (=
# "INTEGER"), sql (number or none).
RULE_TYPES: dict[str, tuple[tuple[int, ...] | str, str]] = {
    "RowCount": ((0,), "number"), "ColumnCount": ((0,), "number"),
    "Completeness": ((1,), "number"), "IsComplete": ((1,), "none"),
    "Uniqueness": ("1+", "number"), "IsUnique": ("1+", "none"), "IsPrimaryKey": ("1+", "none"),
    "UniqueValueRatio": ((1,), "number"), "DistinctValuesCount": ((1,), "number"),
    "Mean": ((1,), "number"), "Sum": ((1,), "number"), "StandardDeviation": ((1,), "number"),
    "ColumnValues": ((1,), "values"), "ColumnLength": ((1,), "number"),
    "ColumnExists": ((1,), "none"), "ColumnDataType": ((1,), "type"),
    "DataFreshness": ((1,), "duration"), "CustomSql": ((1,), "sql"),
    "ReferentialIntegrity": ((2,), "number"), "DetectAnomalies": ((1, 2), "none"),
}
# DetectAnomalies "<metric>" ["<column>"]: the metrics it watches, and how many columns each takes
ANOMALY_METRICS = {"RowCount": 0, "ColumnCount": 0, "Completeness": 1, "Uniqueness": 1, "UniqueValueRatio": 1,
                   "DistinctValuesCount": 1, "Mean": 1, "Sum": 1, "StandardDeviation": 1}
NO_WHERE = {"ColumnCount", "ColumnExists", "CustomSql", "ReferentialIntegrity"}
THRESHOLD = {"ColumnValues", "ColumnDataType", "CustomSql"}
DATA_TYPES = {"BOOLEAN", "DATE", "TIMESTAMP", "INTEGER", "DOUBLE", "FLOAT", "LONG"}

_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\n]+) | (?P<comment>\#[^\n]*) |
    (?P<string>"(?:\\.|[^"\\])*") |
    (?P<op>>=|<=|!=|[=<>!(),\[\]{}:$+\-*/]) |
    (?P<word>[A-Za-z0-9_.]+(?:\(\))?)
""", re.VERBOSE)


@dataclass(frozen=True)
class _Tok:
    kind: str
    value: str
    pos: int
    end: int


def _tokens(text: str) -> list[_Tok]:
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise DQDLError(f"unexpected character {text[pos]!r} at {_where(text, pos)}")
        kind = m.lastgroup or ""
        if kind == "string":
            raw = m.group()[1:-1]
            tokens.append(_Tok("string", re.sub(r"\\(.)", r"\1", raw), pos, m.end()))
        elif kind not in ("ws", "comment"):
            tokens.append(_Tok(kind, m.group(), pos, m.end()))
        pos = m.end()
    return tokens


def _where(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line}, column {column}"


class _Parser:
    def __init__(self, text: str):
        self.text, self.toks, self.i = text, _tokens(text), 0
        self.variables: dict[str, object] = {}
        self.default_labels: dict[str, str] = {}

    # tokens ------------------------------------------------------------------------------------
    def peek(self, offset: int = 0) -> _Tok | None:
        return self.toks[self.i + offset] if self.i + offset < len(self.toks) else None

    def at(self, *values: str) -> bool:
        t = self.peek()
        return t is not None and t.kind != "string" and t.value in values

    def take(self, *values: str) -> _Tok:
        t = self.peek()
        if t is None:
            raise DQDLError(f"the ruleset ends early; expected {' or '.join(values) or 'more'}")
        if values and (t.kind == "string" or t.value not in values):
            raise DQDLError(f"expected {' or '.join(repr(v) for v in values)} at {_where(self.text, t.pos)}, "
                            f"found {t.value!r}")
        self.i += 1
        return t

    def fail(self, message: str) -> DQDLError:
        t = self.peek()
        return DQDLError(f"{message} at {_where(self.text, t.pos) if t else 'the end'}")

    # document ----------------------------------------------------------------------------------
    def document(self) -> Ruleset:
        ruleset = Ruleset([])
        while self.peek() is not None:
            name = self.take().value
            self.take("=")
            if name == "Metadata":
                ruleset.metadata = self.dictionary()
            elif name == "DataSources":
                ruleset.sources = self.dictionary()
            elif name == "DefaultLabels":
                self.default_labels = self.label_list()
            elif name == "Rules":
                ruleset.rules = self.rule_list()
            elif name == "Analyzers":
                raise self.fail("Analyzers are not evaluated by lakeward (rules only)")
            else:
                if name in self.variables:
                    raise DQDLError(f"variable {name!r} is defined twice")
                self.variables[name] = self.variable_value()
        if not ruleset.rules:
            raise DQDLError("the ruleset has no rules: expected Rules = [ ... ]")
        return ruleset

    def dictionary(self) -> dict[str, object]:
        self.take("{")
        result: dict[str, object] = {}
        while not self.at("}"):
            key = self.string()
            self.take(":")
            result[key] = [self.string() for _ in self.list_items()] if self.at("[") else self.string()
            if not self.at("}"):
                self.take(",")
        self.take("}")
        return result

    def list_items(self):  # type: ignore[no-untyped-def]
        """Yields once per item of a [ ... ] list; no trailing comma, as Glue's parser allows none."""
        self.take("[")
        if self.at("]"):
            self.take("]")
            return
        while True:
            yield None
            if self.at("]"):
                self.take("]")
                return
            self.take(",")
            if self.at("]"):
                raise self.fail("expected an item after the comma (DQDL allows no trailing comma)")

    def string(self) -> str:
        t = self.take()
        if t.kind != "string":
            raise DQDLError(f"expected a quoted string at {_where(self.text, t.pos)}, found {t.value!r}")
        return t.value

    def variable_value(self) -> object:
        if self.at("["):
            return [self.string_value() for _ in self.list_items()]
        return self.string_value()

    def string_value(self) -> object:
        t = self.peek()
        if t is not None and t.kind == "word" and t.value in KEYWORDS:
            self.i += 1
            return Keyword(t.value.upper())
        return self.string()

    def label_list(self) -> dict[str, str]:
        labels = {}
        for _ in self.list_items():
            key = self.string()
            self.take("=")
            labels[key] = self.string()
        if len(labels) > 10:
            raise DQDLError("a rule has at most 10 labels")
        return labels

    # rules -------------------------------------------------------------------------------------
    def rule_list(self) -> list[Node]:
        return [self.written() for _ in self.list_items()]

    def written(self) -> Node:
        """A top-level rule, keeping its text as the document writes it."""
        start = self.peek().pos if self.peek() else len(self.text)
        node = self.top()
        node.source = self.text[start:self.toks[self.i - 1].end]
        return node

    def top(self) -> Node:
        left = self.conjunction()
        while self.at("or", "OR"):
            self.take()
            left = Composite("or", left, self.conjunction(), dict(self.default_labels))
        return left

    def conjunction(self) -> Node:
        left = self.primary()
        while self.at("and", "AND"):
            self.take()
            left = Composite("and", left, self.primary(), dict(self.default_labels))
        return left

    def primary(self) -> Node:
        if self.at("("):
            self.take("(")
            node = self.top()
            self.take(")")
            if self.at("labels"):
                self.take("labels")
                self.take("=")
                node_labels = self.label_list()
                if isinstance(node, Composite):
                    node.labels = {**node.labels, **node_labels}
                else:
                    node.labels = {**node.labels, **node_labels}
            return node
        return self.rule()

    def rule(self) -> Rule:
        start = self.peek()
        if start is None or start.kind != "word":
            raise self.fail("expected a rule type")
        rule_type = self.take().value
        params: list[str] = []
        while True:
            t, after = self.peek(), self.peek(1)
            if t is not None and t.value in ("of", "OF", "and", "AND") and t.kind == "word" and after is not None \
                    and (after.kind == "string" or after.kind == "word" and after.value not in _RESERVED):
                self.take()
                continue
            if t is not None and (t.kind == "string" or t.kind == "word" and t.value not in _RESERVED
                                  and not _NUMBER.match(t.value)):
                self.i += 1
                params.append(t.value)
            elif t is not None and t.value == "$":
                self.take("$")
                params.append(str(self.variable(self.take().value)))
            else:
                break
        rule = Rule(rule_type, tuple(params), None, labels=dict(self.default_labels))
        kind = _kind(rule_type, len(params), start)
        if self.at(*_CONDITION_START):
            if kind == "none":
                raise DQDLError(f"{rule.text}: {rule_type} takes no condition (it is true or false)")
            try:
                rule.condition = self.condition(kind)
            except DQDLError as e:
                raise DQDLError(str(e) if str(e).startswith(rule.text) else f"{rule.text}: {e}") from None
        elif kind in ("number", "values", "duration", "type"):
            raise self.fail(f"{rule.text}: {rule_type} needs a condition (for example > 0)")
        if self.at("where"):
            if rule_type in NO_WHERE:
                raise DQDLError(f"{rule.text}: a where clause is not supported for {rule_type}")
            self.take("where")
            rule.where = self.string()
            if not rule.where.strip():
                raise DQDLError(f"{rule.text}: the where clause is empty")
        if self.at("labels"):
            self.take("labels")
            self.take("=")
            rule.labels = {**rule.labels, **self.label_list()}
        while self.at("with"):
            self.take("with")
            tag = self.take().value
            if tag == "threshold":
                if rule_type not in THRESHOLD:
                    raise DQDLError(f"{rule.text}: with threshold is not supported for {rule_type}")
                rule.threshold = self.condition("number")
                if any(isinstance(o, Dynamic) for o in rule.threshold.operands):
                    raise DQDLError(f"{rule.text}: a with threshold takes numbers, not dynamic thresholds")
            else:
                self.take("=")
                rule.tags[tag] = self.string()
        if rule_type == "DetectAnomalies" and ANOMALY_METRICS.get(params[0]) != len(params) - 1:
            raise DQDLError(f"{rule.text}: DetectAnomalies watches one of "
                            f"{', '.join(f'{m} (with a column)' if n else m for m, n in ANOMALY_METRICS.items())}")
        if rule_type == "ColumnDataType" and rule.condition is not None:
            names = [o for o in rule.condition.operands if isinstance(o, str)]
            if rule.condition.op != "=" or not names or names[0].upper() not in DATA_TYPES:
                raise DQDLError(f"{rule.text}: ColumnDataType takes = one of {', '.join(sorted(DATA_TYPES))}")
        return rule

    def variable(self, name: str) -> object:
        if name not in self.variables:
            raise DQDLError(f"${name} is not defined (define it before Rules: {name} = [\"a\", \"b\"])")
        return self.variables[name]

    # conditions --------------------------------------------------------------------------------
    def condition(self, kind: str) -> Condition:
        negated = False
        if self.at("not"):
            self.take("not")
            negated = True
        if self.at("between"):
            self.take("between")
            low = self.operand(kind)
            self.take("and", "AND")
            return Condition("not between" if negated else "between", (low, self.operand(kind)))
        if self.at("in"):
            self.take("in")
            if self.at("$"):
                self.take("$")
                values = self.variable(self.take().value)
                items = tuple(values) if isinstance(values, list) else (values,)
            else:
                items = tuple(self.operand(kind) for _ in self.list_items())
            return Condition("not in" if negated else "in", items)  # type: ignore[arg-type]
        if self.at("matches"):
            if kind != "values":
                raise self.fail("matches applies to ColumnValues")
            self.take("matches")
            return Condition("not matches" if negated else "matches", (self.string(),))
        if negated:
            raise self.fail("expected between, in or matches after not")
        if self.at("!"):
            self.take("!")
            self.take("=")
            return Condition("!=", (self.operand(kind),))
        op = self.take(">=", "<=", ">", "<", "=", "!=").value
        return Condition(op, (self.operand(kind),))

    def operand(self, kind: str) -> Operand:
        t = self.peek()
        if t is None:
            raise self.fail("expected a value")
        if t.kind == "word" and t.value in KEYWORDS:
            self.i += 1
            return Keyword(t.value.upper())
        if t.kind == "string":
            self.i += 1
            return t.value
        if t.value == "$":
            self.take("$")
            return self.variable(self.take().value)  # type: ignore[return-value]
        if self.at("now()") or self.at("(") and self.peek(1) is not None and self.peek(1).value == "now()":  # type: ignore[union-attr]
            return self.relative_time()
        value = self.number()
        if isinstance(value, Dynamic) and kind != "number":
            raise self.fail("dynamic thresholds apply to rules that compute one metric (RowCount, Completeness, "
                            "Mean, ...), not to each value")
        if kind in ("duration", "values") and self.at("days", "hours", "minutes"):
            return Duration(value, self.take().value)  # type: ignore[arg-type]
        return value

    def relative_time(self) -> RelativeTime:
        if self.at("now()"):
            self.take()
            return RelativeTime()
        self.take("(")
        self.take("now()")
        sign = 1 if self.take("+", "-").value == "+" else -1
        amount = self.number()
        unit = self.take("days", "hours", "minutes").value
        self.take(")")
        return RelativeTime(sign, Duration(amount, unit))

    def number(self) -> "float | Dynamic":
        value = self.term()
        while self.at("+", "-"):
            op = self.take().value
            value = _combine(op, value, self.term())
        return value

    def term(self) -> "float | Dynamic":
        value = self.factor()
        while self.at("*", "/"):
            op = self.take().value
            right = self.factor()
            if op == "/" and right == 0:
                raise self.fail("division by zero")
            value = _combine(op, value, right)
        return value

    def factor(self) -> "float | Dynamic":
        if self.at("-"):
            self.take("-")
            return _combine("*", -1.0, self.factor())
        if self.at("("):
            self.take("(")
            value = self.number()
            self.take(")")
            return value
        t = self.take()
        if t.kind == "word" and self.at("("):
            if t.value not in FUNCTIONS:
                raise DQDLError(f"{t.value}(...) at {_where(self.text, t.pos)}: lakeward evaluates the dynamic "
                                f"functions {', '.join(sorted(FUNCTIONS))}")
            args = [self.number() for _ in self.call_args()]
            if t.value == "last" and (len(args) != 1 or not isinstance(args[0], float) or args[0] < 1):
                raise DQDLError(f"last(...) at {_where(self.text, t.pos)}: takes one count of evaluations, e.g. last(10)")
            listed = bool(args) and isinstance(args[0], Dynamic) and args[0].op == "last"
            if t.value in ("avg", "min", "max", "std") and (len(args) != 1 or not listed):
                raise DQDLError(f"{t.value}(...) at {_where(self.text, t.pos)}: takes last(n), e.g. {t.value}(last(10))")
            if t.value == "index" and (len(args) != 2 or not listed or not isinstance(args[1], float)):
                raise DQDLError(f"index(...) at {_where(self.text, t.pos)}: takes last(n) and a position, "
                                "e.g. index(last(10), 2)")
            return Dynamic(t.value, tuple(args))
        if t.kind == "word" and t.value.endswith("()") and t.value != "now()":
            raise DQDLError(f"{t.value} at {_where(self.text, t.pos)}: a function needs arguments, e.g. last(10)")
        if not _NUMBER.match(t.value):
            raise DQDLError(f"expected a number at {_where(self.text, t.pos)}, found {t.value!r}")
        return float(t.value)

    def call_args(self):  # type: ignore[no-untyped-def]
        self.take("(")
        while True:
            yield None
            if self.at(")"):
                self.take(")")
                return
            self.take(",")


_NUMBER = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_CONDITION_START = ("between", "not", "in", "matches", ">", ">=", "<", "<=", "=", "!", "!=")
_RESERVED = {*_CONDITION_START, "where", "labels", "with", "and", "AND", "or", "OR", "of", "OF", "now()"}


def _combine(op: str, left: "float | Dynamic", right: "float | Dynamic") -> "float | Dynamic":
    if isinstance(left, float) and isinstance(right, float):
        return {"+": left + right, "-": left - right, "*": left * right, "/": left / right}[op]
    return Dynamic(op, (left, right))


def _kind(rule_type: str, count: int, at: _Tok) -> str:
    spec = RULE_TYPES.get(rule_type)
    if spec is None:
        raise DQDLError(f"{rule_type} (at column {at.pos + 1}): lakeward does not evaluate this rule type; it "
                        f"evaluates {', '.join(sorted(RULE_TYPES))}")
    counts, kind = spec
    if counts == "1+" and count >= 1 or counts != "1+" and count in counts:
        return kind
    wanted = "one or more" if counts == "1+" else " or ".join(str(c) for c in counts)
    raise DQDLError(f"{rule_type} takes {wanted} parameter(s), got {count}")


def parse_ruleset(text: str) -> Ruleset:
    """The rules of a DQDL document; DQDLError names the rule, the position and what to fix."""
    return _Parser(text).document()
