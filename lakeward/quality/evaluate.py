"""DQDL rules evaluated over a DataFrame: one Spark aggregation for every rule's metrics, and for the
rules Glue evaluates row by row, a pass flag per row.

Metrics follow Glue Data Quality's definitions (names as Glue reports them, ``Column.<c>.Completeness``):
Completeness = non-null rows / rows; Uniqueness = rows whose value occurs exactly once / non-null rows;
UniqueValueRatio = values occurring once / distinct values; DistinctValuesCount counts non-null values;
Mean, Sum and StandardDeviation (population) ignore NULLs; ColumnLength reads NULL as length 0;
``between`` bounds are exclusive. A ``where`` clause (Spark SQL) restricts a rule to the rows it holds;
other rows pass it. Row-level rules (IsComplete, Completeness's flag, IsUnique, IsPrimaryKey,
ColumnValues, ColumnLength, ColumnDataType, DataFreshness, CustomSql selecting columns) pass when every
row passes (or, with ``with threshold``, when the share of passing rows meets it); NULLs fail every
ColumnValues form except ``!=`` and ``not in``, as in Glue.
"""
from __future__ import annotations

import math
import operator
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeward.engines.bookkeeping import spark_path
from lakeward.engines.spark_columns import quoted
from lakeward.quality.dqdl import (
    Composite,
    Condition,
    Duration,
    Dynamic,
    Keyword,
    Node,
    RelativeTime,
    Rule,
    Ruleset,
)

RULE_PASSED, RULE_FAILED, RULE_ERROR = "Passed", "Failed", "Error"
_SPARK_TYPES = {"BOOLEAN": "boolean", "DATE": "date", "TIMESTAMP": "timestamp", "INTEGER": "int", "DOUBLE": "double",
                "FLOAT": "float", "LONG": "bigint"}
_COMPARE = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


@dataclass
class RuleResult:
    rule: str
    outcome: str
    metrics: dict[str, float] = field(default_factory=dict)
    reason: str | None = None
    row_level: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    failing_rows: int | None = None  # row-level rules: the rows that fail it


@dataclass
class Evaluation:
    results: list[RuleResult]
    flags: list[tuple[str, SparkColumn]]  # (rule text, per-row pass expression) of row-level rules

    def failed_rules(self) -> SparkColumn:
        """Per row: the texts of the row-level rules it fails (an empty array when it passes them all)."""
        return failed_rules(self.flags)


def failed_rules(flags: list[tuple[str, SparkColumn]]) -> SparkColumn:
    """Per row: the texts of those rules (text, per-row pass) it fails; an empty array when it passes them all."""
    if not flags:
        return F.array().cast("array<string>")
    return F.filter(F.array(*[F.when(~F.coalesce(flag, F.lit(False)), F.lit(text)) for text, flag in flags]),
                    lambda x: x.isNotNull())


History = Callable[[str, str, int], list[float]]  # (rule text, metric, k) -> the k latest values, newest first


def resolve(operand: Any, series: list[float]) -> Any:
    """A dynamic threshold computed from a metric's history (``series``, newest first)."""
    if not isinstance(operand, Dynamic):
        return operand
    if operand.op == "num":
        return operand.args[0]
    if operand.op == "last":
        return series[:int(operand.args[0])]  # type: ignore[call-overload]
    args = [resolve(a, series) for a in operand.args]
    if operand.op in "+-*/":
        a, b = args
        if a is None or b is None or operand.op == "/" and b == 0:
            return None
        return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else None}[operand.op]
    values = args[0] if isinstance(args[0], list) else None
    if not values:
        return None
    if operand.op == "index":
        i = int(args[1])
        return values[i] if 0 <= i < len(values) else None
    return {"avg": statistics.fmean, "min": min, "max": max, "std": statistics.pstdev}[operand.op](values)


def dynamic_depth(condition: Condition | None) -> int:
    return max([o.last_needed() for o in (condition.operands if condition else ()) if isinstance(o, Dynamic)] or [0])


def check_number(condition: Condition, value: float | None, series: list[float] | None = None) -> bool:
    """A metric against a numeric condition (between is exclusive, = is exact), as DQDL defines them;
    dynamic operands are computed from ``series`` (the metric's history, newest first)."""
    if value is None or isinstance(value, float) and math.isnan(value):
        return False
    if any(isinstance(o, Dynamic) for o in condition.operands):
        condition = Condition(condition.op, tuple(resolve(o, series or []) for o in condition.operands))
    ops = [o for o in condition.operands if isinstance(o, (int, float))]
    if condition.op == "between":
        return ops[0] < value < ops[1]
    if condition.op == "not between":
        return value <= ops[0] or value >= ops[1]
    if condition.op == "=":
        return value == ops[0]
    if condition.op == "!=":
        return value != ops[0]
    if condition.op == "in":
        return value in ops
    if condition.op == "not in":
        return value not in ops
    return _COMPARE[condition.op](value, ops[0])


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, second=0, microsecond=0)


def _literal(operand: Any) -> SparkColumn:
    if isinstance(operand, RelativeTime):
        moment = _now() if not operand.sign else _now() + operand.sign * timedelta(hours=operand.offset.hours)  # type: ignore[union-attr]
        return F.lit(moment)
    return F.lit(operand)


def _value_pass(column: SparkColumn, dtype: T.DataType, condition: Condition) -> SparkColumn:
    """Whether one value satisfies a ColumnValues condition (NULL handling as Glue documents it)."""
    op, operands = condition.op, condition.operands
    keywords = {o.name for o in operands if isinstance(o, Keyword)}
    plain = [o for o in operands if not isinstance(o, Keyword)]
    text = column.cast("string")
    dates = isinstance(dtype, (T.DateType, T.TimestampType, T.TimestampNTZType))
    subject = F.to_date(column) if isinstance(dtype, T.DateType) else column

    def keyword_match(name: str) -> SparkColumn:
        return {"NULL": column.isNull(), "EMPTY": text == F.lit(""),
                "WHITESPACES_ONLY": text.rlike(r"^\s+$")}[name]  # spaces, tabs, line breaks

    def value(o: Any) -> SparkColumn:
        if dates and isinstance(o, str):
            return F.to_date(F.lit(o)) if isinstance(dtype, T.DateType) else F.to_timestamp(F.lit(o))
        return _literal(o)

    if op in ("in", "not in"):
        hits = [F.coalesce(h, F.lit(False)) for h in
                ([subject.isin(*[value(o) for o in plain])] if plain else []) + [keyword_match(k) for k in keywords]]
        found = hits[0] if len(hits) == 1 else F.greatest(*hits)
        return found if op == "in" else ~found  # NULL is "not in" a list unless the list names NULL
    if op in ("=", "!="):
        operand = operands[0]
        equal = keyword_match(operand.name) if isinstance(operand, Keyword) else F.coalesce(subject == value(operand),
                                                                                              F.lit(False))
        if op == "=":
            return F.coalesce(equal, F.lit(False))
        return column.isNull() | ~equal if not isinstance(operand, Keyword) else ~F.coalesce(equal, F.lit(False))
    if op in ("matches", "not matches"):
        matched = F.coalesce(text.rlike(f"^(?:{operands[0]})$"), F.lit(False))
        return matched if op == "matches" else column.isNotNull() & ~matched
    if op == "between":
        return F.coalesce((subject > value(operands[0])) & (subject < value(operands[1])), F.lit(False))
    if op == "not between":
        return F.coalesce((subject <= value(operands[0])) | (subject >= value(operands[1])), F.lit(False))
    return F.coalesce(_COMPARE[op](subject, value(operands[0])), F.lit(False))


def _number_pass(expr: SparkColumn, condition: Condition) -> SparkColumn:
    ops = [F.lit(o) for o in condition.operands]
    op = condition.op
    if op == "between":
        return (expr > ops[0]) & (expr < ops[1])
    if op == "not between":
        return (expr <= ops[0]) | (expr >= ops[1])
    if op == "=":
        return expr == ops[0]
    if op == "!=":
        return expr != ops[0]
    if op in ("in", "not in"):
        found = expr.isin(*ops)
        return found if op == "in" else ~found
    return _COMPARE[op](expr, ops[0])


class _Compiler:
    """Collects every rule's aggregate expressions for one Spark job, and its per-row pass flag."""

    def __init__(self, spark: SparkSession, df: DataFrame, references: dict[str, DataFrame], columns: list[str],
                 history: History | None = None, base: SparkColumn | None = None, grouped: Grouped = ""):
        self.spark, self.df, self.references, self.columns = spark, df, references, columns
        self.history = history
        self.grouped = grouped  # value counts per key set apart from the row flags (no per-row flags for them)
        self.grouped_values: dict[tuple, dict[str, float]] = {}
        self.key_columns: dict[tuple, tuple[str, SparkColumn]] = {}  # staged: key set -> (column, its value)
        self.base = base if base is not None else F.lit(True)  # the rows the aggregates count
        self.aggs: list[SparkColumn] = []
        self._agg_names: dict[str, list[tuple[SparkColumn, str]]] = {}
        self.windows: dict[tuple[str, ...], str] = {}  # column set -> count column (values per group)

    def agg(self, expr: SparkColumn) -> str:
        """The name of ``expr``'s value among the aggregates; an expression asked for twice (every rule
        counts its rows) is computed once."""
        same = self._agg_names.setdefault(str(expr), [])  # printed alike is not enough: '1' and 1 print alike
        for seen, name in same:
            if seen._jc.expr().equals(expr._jc.expr()):
                return name
        name = f"m{len(self.aggs)}"
        same.append((expr, name))
        self.aggs.append(expr.alias(name))
        return name

    def count_column(self, columns: tuple[str, ...], where: str | None = None) -> str:
        """A column counting, per row, the rows with its key (among the rows the where clause keeps)."""
        if (columns, where) not in self.windows:
            self.windows[(columns, where)] = f"__lw_dq_count_{len(self.windows)}"  # type: ignore[index]
        return self.windows[(columns, where)]  # type: ignore[index]

    def framed(self) -> DataFrame:
        df = self.df
        for (columns, where), name in self.windows.items():  # type: ignore[misc]
            present = F.greatest(*[quoted(c).isNotNull() for c in columns]) if len(columns) > 1 else quoted(columns[0]).isNotNull()
            scope = self.base & F.coalesce(F.expr(where), F.lit(False)) if where else self.base
            window = Window.partitionBy(scope, *[quoted(c) for c in columns])
            df = df.withColumn(name, F.when(present & scope, F.count(F.lit(1)).over(window)))
        for name, value in self.key_columns.values():
            df = df.withColumn(name, value)
        return df


@dataclass
class _Plan:
    rule: Rule
    measure: Any = None  # (aggregate values) -> {metric name: value}
    flag: SparkColumn | None = None  # per-row pass
    error: str | None = None
    decide: Any = None  # (metrics) -> (passed, reason); default: the first metric against the condition


def _ratio(part: str, whole: str) -> Any:
    return lambda m: (m[part] / m[whole]) if m[whole] else None


def _compile(rule: Rule, c: _Compiler) -> _Plan:
    plan = _Plan(rule)
    df = c.df
    scope = c.base & F.coalesce(F.expr(rule.where), F.lit(False)) if rule.where else c.base  # NULL: not in it
    cols = rule.params
    t = rule.type
    if t == "DetectAnomalies":  # the metric as its own rule computes it, judged against its history
        watched = _compile(Rule(cols[0], cols[1:], None, rule.where), c)
        watched.rule, watched.flag = rule, None
        if watched.error is None:
            watched.decide = lambda metrics: _anomaly(rule, metrics, c.history)
        return watched
    if t == "ColumnExists":
        present = cols[0] in c.columns
        plan.measure = lambda m: {}
        plan.decide = lambda metrics: (present, None if present else f"column {cols[0]} does not exist")
        return plan
    missing = [p for p in cols if t not in ("CustomSql", "ReferentialIntegrity") and p not in c.columns]
    if t == "ReferentialIntegrity":
        missing = [p.strip() for p in cols[0].split(",") if p.strip() not in c.columns]
    if missing:
        plan.error = f"column {missing[0]} does not exist (columns: {', '.join(c.columns)})"
        return plan
    rows = c.agg(F.coalesce(F.sum(F.when(scope, 1).otherwise(0)), F.lit(0)).cast("double"))  # 0 for no rows
    name = f"Column.{cols[0]}" if len(cols) == 1 else f"Multicolumn.{','.join(cols)}"
    if t == "RowCount":
        plan.measure = lambda m: {"Dataset.*.RowCount": m[rows]}
    elif t == "ColumnCount":
        count = float(len(c.columns))
        plan.measure = lambda m: {"Dataset.*.ColumnCount": count}
    elif t in ("Completeness", "IsComplete"):
        complete = c.agg(F.sum(F.when(scope & quoted(cols[0]).isNotNull(), 1).otherwise(0)).cast("double"))
        plan.flag = ~scope | quoted(cols[0]).isNotNull()
        share = _ratio(complete, rows)
        plan.measure = lambda m: {f"{name}.Completeness": share(m) if m[rows] else 1.0}
    elif t in GROUPED and c.grouped:  # counted per value in a job of its own over the key columns: no flags
        _grouped_rule(rule, c, plan, name, scope, rows)
    elif t in ("Uniqueness", "IsUnique", "IsPrimaryKey", "UniqueValueRatio"):
        count = c.count_column(cols, rule.where)
        present = F.greatest(*[quoted(x).isNotNull() for x in cols]) if len(cols) > 1 else quoted(cols[0]).isNotNull()
        once = c.agg(F.sum(F.when(scope & present & (F.col(count) == 1), 1).otherwise(0)).cast("double"))
        if t == "UniqueValueRatio":
            distinct = _distinct(c, count, scope)
            plan.measure = lambda m: {f"{name}.UniqueValueRatio": _ratio(once, distinct)(m)}
        else:
            nonnull = c.agg(F.sum(F.when(scope & present, 1).otherwise(0)).cast("double"))
            plan.flag = ~scope | present & (F.col(count) == 1)
            plan.measure = lambda m: {f"{name}.Uniqueness": _ratio(once, nonnull)(m)}
            if t == "IsPrimaryKey":
                every = F.least(*[quoted(x).isNotNull() for x in cols]) if len(cols) > 1 else quoted(cols[0]).isNotNull()
                plan.flag = plan.flag & (~scope | every)
                complete = c.agg(F.sum(F.when(scope & every, 1).otherwise(0)).cast("double"))
                plan.measure = lambda m: {f"{name}.Uniqueness": _ratio(once, nonnull)(m),
                                          f"{name}.Completeness": _ratio(complete, rows)(m)}
    elif t == "DistinctValuesCount":
        distinct = _distinct(c, c.count_column(cols, rule.where), scope)
        plan.measure = lambda m: {f"{name}.DistinctValuesCount": m[distinct]}
    elif t in ("Mean", "Sum", "StandardDeviation"):
        values = F.when(scope, quoted(cols[0]).cast("double"))
        metric = c.agg({"Mean": F.avg, "Sum": F.sum, "StandardDeviation": F.stddev_pop}[t](values))
        plan.measure = lambda m: {f"{name}.{t}": m[metric]}
    elif t == "ColumnLength":
        length = F.coalesce(F.length(quoted(cols[0]).cast("string")), F.lit(0))
        plan.flag = ~scope | _number_pass(length, rule.condition)  # type: ignore[arg-type]
        low, high = c.agg(F.min(F.when(scope, length)).cast("double")), c.agg(F.max(F.when(scope, length)).cast("double"))
        plan.measure = lambda m: {f"{name}.MinimumLength": m[low], f"{name}.MaximumLength": m[high]}
    elif t == "ColumnValues":
        plan.flag = ~scope | _value_pass(quoted(cols[0]), df.schema[cols[0]].dataType, rule.condition)  # type: ignore[arg-type]
    elif t == "ColumnDataType":
        target = _SPARK_TYPES[str(rule.condition.operands[0]).upper()]  # type: ignore[union-attr]
        plan.flag = ~scope | quoted(cols[0]).cast("string").cast(target).isNotNull()
    elif t == "DataFreshness":
        age = (F.unix_timestamp(F.lit(_now())) - F.unix_timestamp(F.to_timestamp(quoted(cols[0])))) / 3600.0
        hours = Condition(rule.condition.op, tuple(o.hours if isinstance(o, Duration) else o  # type: ignore[union-attr]
                                                   for o in rule.condition.operands))  # type: ignore[union-attr]
        plan.flag = ~scope | (quoted(cols[0]).isNotNull() & F.coalesce(_number_pass(age, hours), F.lit(False)))
    elif t == "CustomSql":
        _custom_sql(rule, c, plan)
    elif t == "ReferentialIntegrity":
        _referential(rule, c, plan, rows)
    if plan.flag is not None and plan.measure is None:  # a rule about each row: its compliance decides
        passing = c.agg(F.sum(F.when(scope & plan.flag, 1).otherwise(0)).cast("double"))  # among the rows in scope
        total = rows
        label = f"{name}.{'LengthCompliance' if t == 'ColumnLength' else t + '.Compliance'}"
        plan.measure = lambda m: {label: m[passing] / m[total] if m[total] else 1.0}
        plan.decide = lambda metrics: _compliance(rule, metrics[label])
    elif plan.flag is not None and t == "ColumnLength":
        passing = c.agg(F.sum(F.when(scope & plan.flag, 1).otherwise(0)).cast("double"))
        total = rows
        lengths = plan.measure
        plan.measure = lambda m: {**lengths(m), f"{name}.LengthCompliance": m[passing] / m[total] if m[total] else 1.0}
        plan.decide = lambda metrics: _compliance(rule, metrics[f"{name}.LengthCompliance"])
    if plan.decide is None and plan.error is None:
        if rule.condition is None:  # IsComplete, IsUnique, IsPrimaryKey: every ratio must be 1
            plan.decide = lambda metrics: _all_one(metrics)
        else:
            plan.decide = lambda metrics: _numeric(rule, *next(iter(metrics.items()))[::-1], c.history)
    return plan


GROUPED = {"Uniqueness", "IsUnique", "IsPrimaryKey", "UniqueValueRatio", "DistinctValuesCount"}


Grouped = Literal["", "now", "staged"]


DRIVER_KEYS = 500_000  # staged rule keys counted with Arrow on the driver, not by a Spark job


def _count_staged(spark: SparkSession, uris: list[str], storage: Any) -> dict[str, float]:
    """``value_counts`` of staged key files: read here with Arrow through ``storage`` when given and Arrow
    groups them as Spark does, else by a Spark job."""
    if not uris:
        return {"rows": 0.0, "once": 0.0, "distinct": 0.0}
    if storage is not None:
        staged = pa.concat_tables([pq.read_table(path, filesystem=fs) for fs, path in map(storage.resolve, uris)])
        if _arrow_groups(staged):
            return arrow_value_counts(staged)
    return value_counts(spark.read.parquet(*[spark_path(f) for f in uris]).groupBy("k").count())


def _arrow_groups(keys: pa.Table) -> bool:
    """Whether Arrow groups these keys as Spark does: not floating point (Spark takes NaN for NaN and -0.0
    for 0.0) and nothing nested but the struct of a key of several columns."""
    return not any(pa.types.is_floating(f.type) or pa.types.is_nested(f.type) for f in keys.flatten().schema)


def arrow_value_counts(keys: pa.Table) -> dict[str, float]:
    """``value_counts`` of staged keys (column ``k``, a struct for a key of several columns) read into Arrow."""
    flat = keys.flatten()
    counts = flat.group_by(flat.column_names, use_threads=False).aggregate([([], "count_all")])["count_all"]
    return {"rows": float(pc.sum(counts).as_py() or 0), "once": float(pc.sum(pc.equal(counts, 1)).as_py() or 0),
            "distinct": float(len(counts))}


def value_counts(counts: DataFrame) -> dict[str, float]:
    """From rows per value (a ``count`` column): the rows, the values occurring once, the distinct values."""
    got = counts.agg(F.sum("count").alias("rows"), F.sum(F.when(F.col("count") == 1, 1).otherwise(0)).alias("once"),
                     F.count(F.lit(1)).alias("distinct")).collect()[0]
    return {k: float(got[k] or 0) for k in ("rows", "once", "distinct")}


def _grouped_rule(rule: Rule, c: _Compiler, plan: _Plan, name: str, scope: SparkColumn, rows: str) -> None:
    """A rule about how often values occur, from the rows per value (Deequ's grouping analyzers) instead
    of per-row counts that would shuffle every column of every row. ``now``: one aggregation over the key
    columns alone, run at once. ``staged``: the frame carries each in-scope row's key in a column of its
    own, the writer stages those keys apart from the rows, and they are counted after the write
    (``Compiled.count_staged_keys``): a column of Parquet instead of the source read again."""
    cols, t = rule.params, rule.type
    key = (cols, rule.where)
    if key not in c.grouped_values and key not in c.key_columns:
        present = F.greatest(*[quoted(x).isNotNull() for x in cols]) if len(cols) > 1 else quoted(cols[0]).isNotNull()
        within = F.coalesce(F.expr(rule.where), F.lit(False)) if rule.where else F.lit(True)
        if c.grouped == "staged":
            value = F.struct(*[quoted(x).alias(f"_{i}") for i, x in enumerate(cols)]) if len(cols) > 1 else quoted(cols[0])
            c.key_columns[key] = (f"__lw_dq_key_{len(c.key_columns)}", F.when(c.base & within & present, value))
        else:
            c.grouped_values[key] = value_counts(
                c.df.where(c.base & within & present).groupBy(*[quoted(x) for x in cols]).count())

    def g() -> dict[str, float]:
        return c.grouped_values[key]

    if t == "DistinctValuesCount":
        plan.measure = lambda m: {f"{name}.DistinctValuesCount": g()["distinct"]}
    elif t == "UniqueValueRatio":
        plan.measure = lambda m: {f"{name}.UniqueValueRatio": g()["once"] / g()["distinct"] if g()["distinct"] else None}
    else:
        def uniqueness() -> float | None:
            return g()["once"] / g()["rows"] if g()["rows"] else None

        plan.measure = lambda m: {f"{name}.Uniqueness": uniqueness()}
        if t == "IsPrimaryKey":
            every = F.least(*[quoted(x).isNotNull() for x in cols]) if len(cols) > 1 else quoted(cols[0]).isNotNull()
            complete = c.agg(F.sum(F.when(scope & every, 1).otherwise(0)).cast("double"))
            plan.measure = lambda m: {f"{name}.Uniqueness": uniqueness(), f"{name}.Completeness": _ratio(complete, rows)(m)}


def _distinct(c: _Compiler, count: str, scope: SparkColumn) -> str:
    """Distinct non-null values, exactly, without a DISTINCT aggregate (which Spark cannot observe during
    a write): each row adds 1 / (rows with its value)."""
    share = F.when(scope & F.col(count).isNotNull(), F.lit(1.0) / F.col(count))
    return c.agg(F.round(F.coalesce(F.sum(share), F.lit(0.0))))


def _all_one(metrics: dict[str, float | None]) -> tuple[bool, str | None]:
    off = {k: v for k, v in metrics.items() if v is not None and v != 1.0}
    return not off, None if not off else "; ".join(f"{k} is {v:g}, not 1" for k, v in off.items())


def _numeric(rule: Rule, value: float | None, metric: str, history: History | None = None) -> tuple[bool, str | None]:
    """A metric against the rule's condition (a dynamic one against the metric's history)."""
    depth = dynamic_depth(rule.condition)
    series = history(rule.text, metric, depth) if depth and history else []
    resolved = [resolve(o, series) for o in rule.condition.operands] if depth else []  # type: ignore[union-attr]
    if depth and (not series or any(o is None for o in resolved)):
        shown = "undefined" if value is None else f"{value:g}"
        return True, f"{metric} is {shown}; not enough history yet for {rule.condition.text()}: passed"  # type: ignore[union-attr]
    ok = check_number(rule.condition, value, series)  # type: ignore[arg-type]
    shown = "undefined (no rows)" if value is None else f"{value:g}"
    against = rule.condition.text() + (f" (history: {', '.join(f'{v:g}' for v in series)})" if depth else "")  # type: ignore[union-attr]
    return ok, None if ok else f"{metric} is {shown}, which is not {against}"


ANOMALY_DEPTH, ANOMALY_MIN = 10, 3  # past evaluations compared with; fewer than the minimum: still learning


def _anomaly(rule: Rule, metrics: dict[str, float | None], history: History | None) -> tuple[bool, str | None]:
    """A metric outside its own recent history: more than three standard deviations (at least 1 % of the
    mean, so a history that never moved does not flag every wobble) from the mean of the last ten."""
    metric, value = next(iter(metrics.items()))
    if value is None and metric.endswith(("RowCount", "Sum", "DistinctValuesCount")):
        value = 0.0  # no rows in scope
    if value is None:
        return True, f"{metric} is undefined (no rows in scope); not compared with its history"
    series = history(rule.text, metric, ANOMALY_DEPTH) if history else []
    if len(series) < ANOMALY_MIN:
        return True, (f"{metric} is {value:g}; anomaly detection starts after {ANOMALY_MIN} past evaluations "
                      f"({len(series)} so far): passed")
    mean, deviation = statistics.fmean(series), statistics.pstdev(series)
    band = max(3 * deviation, 0.01 * abs(mean), 1e-9)
    if mean - band <= value <= mean + band:
        return True, None
    return False, (f"{metric} is {value:g}, outside the expected {mean - band:g} to {mean + band:g} (mean {mean:g}, "
                   f"standard deviation {deviation:g} of the last {len(series)}: "
                   f"{', '.join(f'{v:g}' for v in series)})")


def _compliance(rule: Rule, share: float) -> tuple[bool, str | None]:
    if rule.threshold is not None:
        ok = check_number(rule.threshold, share)
        return ok, None if ok else f"{share:.2%} of rows passed; the threshold is {rule.threshold.text()}"
    ok = share == 1.0
    return ok, None if ok else f"{share:.2%} of rows passed"


def _custom_sql(rule: Rule, c: _Compiler, plan: _Plan) -> None:
    c.df.where(c.base).select(*[quoted(x) for x in c.columns]).createOrReplaceTempView("primary")
    try:
        result = c.spark.sql(rule.params[0])
    except Exception as e:  # the user's SQL: its error is the rule's outcome
        plan.error = f"the SQL does not run: {str(e).splitlines()[0]}"
        return
    selected = [f.name for f in result.schema.fields if f.name in c.df.columns]
    if rule.condition is not None or not selected:
        value = result.limit(2).collect()
        number = float(value[0][0]) if value and value[0][0] is not None else None
        plan.measure = lambda m: {"Dataset.*.CustomSQL": number}
        if rule.condition is None:
            plan.decide = lambda metrics: (False, "the SQL returns no column of the dataset, so no row can pass")
        return
    marker = f"__lw_dq_sql_{len(c.aggs)}"  # one per CustomSql rule
    matched = result.select(*[quoted(x) for x in selected]).distinct().withColumn(marker, F.lit(True))
    c.df = c.df.join(matched, selected, "left")
    plan.flag = ~c.base | F.coalesce(F.col(marker), F.lit(False))


def _referential(rule: Rule, c: _Compiler, plan: _Plan, rows: str) -> None:
    mine = [x.strip() for x in rule.params[0].split(",")]
    alias, _, theirs_text = rule.params[1].partition(".")
    theirs = [x.strip() for x in theirs_text.strip("{}").split(",")]
    reference = c.references.get(alias)
    if reference is None:
        plan.error = f"reference dataset {alias!r} is not given (DataSources AdditionalDataSources)"
        return
    missing = [t for t in theirs if t not in reference.columns]
    if missing or len(theirs) != len(mine):
        plan.error = (f"reference column {missing[0]} is not in {alias} (columns: {', '.join(reference.columns)})"
                      if missing else f"{len(mine)} column(s) against {len(theirs)} reference column(s)")
        return
    marker = f"__lw_dq_ref_{len(c.aggs)}"  # one per rule: a row's key is among the reference's
    keys = reference.select(*[quoted(t).alias(f"{marker}_{i}") for i, t in enumerate(theirs)]).distinct() \
        .withColumn(marker, F.lit(True))
    c.df = c.df.join(keys, [quoted(m) == F.col(f"{marker}_{i}") for i, m in enumerate(mine)], "left") \
        .drop(*[f"{marker}_{i}" for i in range(len(theirs))])
    plan.flag = ~c.base | F.coalesce(F.col(marker), F.lit(False))
    found = c.agg(F.sum(F.when(c.base & F.col(marker), 1).otherwise(0)).cast("double"))
    plan.measure = lambda m: {f"Column.{alias}.ReferentialIntegrity": _ratio(found, rows)(m)}


@dataclass
class Compiled:
    """A rule set compiled over a frame: the aggregates to compute (in one job), the frame with the columns
    they and the row flags read, and how to decide every rule from the aggregates' values."""
    ruleset: Ruleset
    plans: dict[int, _Plan]
    aggs: list[SparkColumn]
    failing: dict[int, str]  # top-level row-level rule -> the aggregate counting the rows failing it
    framed: DataFrame
    grouped_values: dict[tuple, dict[str, float]] = field(default_factory=dict)
    key_columns: dict[tuple, tuple[str, SparkColumn]] = field(default_factory=dict)

    @property
    def staged_keys(self) -> tuple[str, ...]:
        """The columns whose non-NULL values the writer stages for ``count_staged_keys``."""
        return tuple(name for name, _ in self.key_columns.values())

    def count_staged_keys(self, spark: SparkSession, files: dict[str, list[str]], rows: dict[str, int] | None = None,
                          storage: Any = None) -> None:
        """Count, per key set, the keys the write staged (``files``: column -> Parquet files, column ``k``;
        ``rows``: how many values each holds). Up to ``DRIVER_KEYS`` values are counted here with Arrow
        through ``storage`` (a Spark job would cost more than the counting); more, by Spark."""
        for key, (column, _) in self.key_columns.items():
            uris = files.get(column, [])
            few = storage is not None and rows is not None and rows.get(column, DRIVER_KEYS + 1) <= DRIVER_KEYS
            self.grouped_values[key] = _count_staged(spark, uris, storage if few else None)

    def flags(self) -> list[tuple[str, SparkColumn]]:
        """(rule text, per-row pass) of the top-level row-level rules."""
        return [(node.text, flag) for node in self.ruleset.rules if (flag := _node_flag(node, self.plans)) is not None]

    def decide(self, values: dict[str, Any]) -> Evaluation:
        results, flags = [], []
        for node in self.ruleset.rules:
            result, flag = _outcome(node, self.plans, values)
            if id(node) in self.failing:
                result.failing_rows = int(values[self.failing[id(node)]] or 0)
            results.append(result)
            if flag is not None:
                flags.append((node.text, flag))
        return Evaluation(results, flags)


def compile_rules(spark: SparkSession, df: DataFrame, ruleset: Ruleset, references: dict[str, DataFrame] | None = None,
                  columns: list[str] | None = None, history: History | None = None, in_scope: str | None = None,
                  grouped: Grouped = "") -> Compiled:
    """The rule set over ``df``. ``in_scope``: a boolean column of ``df``; the rules see only the rows where
    it is true (the others pass every flag and count in no aggregate), so one frame can carry both.
    ``grouped``: rules about how often values occur are computed now from the rows per value (no per-row
    flags for them)."""
    compiler = _Compiler(spark, df, references or {}, columns or list(df.columns), history,
                         F.coalesce(F.col(in_scope), F.lit(False)) if in_scope else None, grouped)
    plans = {id(leaf): _compile(leaf, compiler) for leaf in ruleset.leaves()}
    failing = {}
    for node in ruleset.rules:
        flag = _node_flag(node, plans)
        if flag is not None:
            failing[id(node)] = compiler.agg(F.sum(F.when(~F.coalesce(flag, F.lit(False)), 1).otherwise(0)))
    return Compiled(ruleset, plans, compiler.aggs, failing, compiler.framed(), compiler.grouped_values,
                    compiler.key_columns)


def evaluate(spark: SparkSession, df: DataFrame, ruleset: Ruleset, references: dict[str, DataFrame] | None = None,
             columns: list[str] | None = None, history: History | None = None) -> tuple[Evaluation, DataFrame]:
    """Every rule's outcome over ``df`` (one aggregation job, plus one per CustomSql), and ``df`` with the
    columns the row flags read (counts per key for uniqueness rules). ``columns``: the dataset's columns
    (default: all of ``df``'s), what ColumnCount and ColumnExists see."""
    compiled = compile_rules(spark, df, ruleset, references, columns, history)
    values = compiled.framed.agg(*compiled.aggs).collect()[0].asDict() if compiled.aggs else {}
    return compiled.decide(values), compiled.framed


def _node_flag(node: Node, plans: dict[int, _Plan]) -> SparkColumn | None:
    """A rule's per-row pass expression (a composite's from its parts), or None when it is not row-level."""
    if isinstance(node, Composite):
        left, right = _node_flag(node.left, plans), _node_flag(node.right, plans)
        if left is None or right is None:
            return None
        return (left & right) if node.op == "and" else (left | right)
    plan = plans[id(node)]
    return None if plan.error else plan.flag


def _outcome(node: Node, plans: dict[int, _Plan], values: dict[str, Any]) -> tuple[RuleResult, SparkColumn | None]:
    if isinstance(node, Composite):
        left, left_flag = _outcome(node.left, plans, values)
        right, right_flag = _outcome(node.right, plans, values)
        if RULE_ERROR in (left.outcome, right.outcome):
            outcome = RULE_ERROR
        else:
            both = (left.outcome == RULE_PASSED, right.outcome == RULE_PASSED)
            outcome = RULE_PASSED if (all(both) if node.op == "and" else any(both)) else RULE_FAILED
        flag = None
        if left_flag is not None and right_flag is not None:
            flag = (left_flag & right_flag) if node.op == "and" else (left_flag | right_flag)
        reasons = [r.reason for r in (left, right) if r.reason]
        return RuleResult(node.text, outcome, {**left.metrics, **right.metrics},
                          None if outcome == RULE_PASSED else "; ".join(reasons), flag is not None, node.labels), flag
    plan = plans[id(node)]
    if plan.error:
        return RuleResult(node.text, RULE_ERROR, {}, plan.error, False, node.labels), None
    metrics = plan.measure({k: (None if v is None else float(v)) for k, v in values.items()})
    ok, reason = plan.decide(metrics)
    return RuleResult(node.text, RULE_PASSED if ok else RULE_FAILED, {k: v for k, v in metrics.items() if v is not None},
                      reason, plan.flag is not None, node.labels), plan.flag
