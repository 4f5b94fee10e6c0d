"""Trino's rules for values where DuckDB's differ: casts, decimal arithmetic, dates and time zones."""
from __future__ import annotations

from sqlglot import exp

from lakeward.errors import QueryError
from lakeward.query.trino_sql import DATE_UNITS, FLOATS, INTEGERS, TEXT, duck, kind


def cast(node: exp.Cast) -> exp.Expression:
    target, source = node.to.this, kind(node.this)
    if target in TEXT:
        return _cast_to_text(node, source)
    if target not in INTEGERS or source in INTEGERS or source == exp.DataType.Type.DECIMAL:
        return node  # DuckDB rounds decimals half away from zero, as Trino does
    to, lenient = node.to.sql("duckdb"), isinstance(node, exp.TryCast)
    outer = "TRY_CAST" if lenient else "CAST"
    refusal = "NULL" if lenient else (
        "ERROR('Cannot cast ''' || CAST(__0 AS VARCHAR) || ''' to " + node.to.sql("athena") + "')")
    rounded = f"{outer}(ROUND(TRY_CAST(__0 AS DOUBLE)) AS {to})"
    whole = "REGEXP_MATCHES(CAST(__0 AS VARCHAR), '^[+-]?[0-9]+$')"  # Trino does not trim
    plain = f"{outer}(__0 AS {to})"
    if source in FLOATS:
        return duck(rounded, node.this)
    if source in TEXT:
        return duck(f"CASE WHEN {whole} THEN {plain} ELSE {refusal} END", node.this)
    return duck(f"CASE WHEN TYPEOF(__0) IN ('DOUBLE', 'FLOAT', 'JSON') THEN {rounded} "
                f"WHEN TYPEOF(__0) = 'VARCHAR' AND NOT {whole} THEN {refusal} ELSE {plain} END", node.this)


_FRACTIONS = {0: "", 3: ".%g", 6: ".%f"}


def _cast_to_text(node: exp.Cast, source: exp.DataType.Type | None) -> exp.Expression:
    """Trino writes a timestamp with its precision's digits (a Glue timestamp column is timestamp(3)),
    and every double in E notation (1.5E0), which has no DuckDB equivalent: refused."""
    if source == exp.DataType.Type.TIMESTAMP:
        params = node.this.type.expressions
        precision = int(params[0].this.this) if params else 3
        if precision not in _FRACTIONS:
            raise QueryError(f"{node.sql('athena')}: timestamp({precision}) as text has no local translation")
        return duck(f"STRFTIME(__0, '%Y-%m-%d %H:%M:%S{_FRACTIONS[precision]}')", node.this)
    if source in FLOATS or source == exp.DataType.Type.TIMESTAMPTZ:
        raise QueryError(f"{node.sql('athena')}: Athena writes this type as text differently (doubles in E "
                         "notation, zoned timestamps with their zone); no local translation")
    return node


def _scale(node: exp.Expression) -> int | None:
    """The decimal scale Trino gives an expression (a literal 1.25 is decimal(3,2)); None if not a decimal."""
    while isinstance(node, (exp.Paren, exp.Neg)):
        node = node.this
    if isinstance(node, exp.Literal) and not node.is_string and "." in node.this and "e" not in node.this.lower():
        return len(node.this.split(".")[1])
    if isinstance(node, (exp.Add, exp.Sub, exp.Mul)):
        left, right = _scale(node.this), _scale(node.expression)
        if left is None and right is None:
            return None
        left, right = left or 0, right or 0
        return left + right if isinstance(node, exp.Mul) else max(left, right)
    if kind(node) == exp.DataType.Type.DECIMAL:
        params = node.type.expressions
        return int(params[1].this.this) if len(params) > 1 else 0
    return None


def _exact_quotient(numerator: exp.Expression, n_scale: int, denominator: exp.Expression, d_scale: int,
                    scale: int) -> exp.Expression:
    """numerator / denominator as decimal(38, scale), rounded half away from zero, in 128-bit integers
    (what Trino computes; a double would round ties and lose digits past the 16th)."""
    shift = scale - n_scale + d_scale
    n = f"CAST(__0 * {10 ** n_scale} AS HUGEINT) * CAST({10 ** shift} AS HUGEINT)"
    d = f"CAST(__1 * {10 ** d_scale} AS HUGEINT)"
    unit = "1" if scale == 0 else "0." + "0" * (scale - 1) + "1"
    return duck(f"CAST(CAST(SIGN({n}) * SIGN({d}) * ((2 * ABS({n}) + ABS({d})) // (2 * ABS({d}))) AS DECIMAL(38, 0))"
                f" * {unit} AS DECIMAL(38, {scale}))", numerator, denominator)


def div(node: exp.Div) -> exp.Expression:
    """decimal / decimal (or integer) is a decimal with the larger scale, rounded half away from zero."""
    operands = (node.this, node.expression)
    scales = [_scale(n) for n in operands]
    if all(s is None for s in scales):
        if all(kind(n) is not None for n in operands):
            return node
        return duck("CASE WHEN TYPEOF(__0) LIKE 'DECIMAL%' OR TYPEOF(__1) LIKE 'DECIMAL%' THEN ERROR('decimal "
                    "division of operands whose type could not be inferred has no local translation') ELSE __2 END",
                    node.this, node.expression, node)
    for s, operand in zip(scales, operands):
        if s is None and kind(operand) not in INTEGERS:
            if kind(operand) in FLOATS:
                return node  # Trino divides as doubles too
            raise QueryError(f"{node.sql('athena')}: a decimal divided with an operand of unknown type has no "
                             "local translation")
    scale = max(s or 0 for s in scales)
    return _exact_quotient(node.this, scales[0] or 0, node.expression, scales[1] or 0, scale)


def avg(node: exp.Avg) -> exp.Expression:
    """avg of a decimal is a decimal of the same scale: sum / count, divided exactly."""
    scale = _scale(node.this) if kind(node.this) == exp.DataType.Type.DECIMAL else None
    if scale is None:
        if kind(node.this) is not None:
            return node
        node.set("this", duck("CASE WHEN TYPEOF(__0) LIKE 'DECIMAL%' THEN ERROR('avg of a decimal whose type "
                              "could not be inferred has no local translation') ELSE __0 END", node.this))
        return node
    if isinstance(node.parent, (exp.Window, exp.Filter)):
        raise QueryError(f"{node.sql('athena')}: avg of a decimal in a window or with FILTER has no local "
                         "translation")
    total, count = exp.Sum(this=node.this.copy()), exp.Count(this=node.this.copy())
    return duck("CASE WHEN __1 = 0 THEN NULL ELSE __0 END",
                _exact_quotient(total, scale, count, 0, scale), count)


def _is_date(node: exp.Expression | None) -> bool:
    return kind(node) == exp.DataType.Type.DATE


def _refuse_sub_day(node: exp.Expression) -> None:
    raise QueryError(f"{node.sql('athena')}: Athena cannot add hours, minutes or seconds to a date")


def date_interval(node: exp.Add | exp.Sub) -> exp.Expression:
    if isinstance(node.expression, exp.Interval):
        operand, interval = node.this, node.expression
    elif isinstance(node, exp.Add) and isinstance(node.this, exp.Interval):
        operand, interval = node.expression, node.this
    else:
        return node
    if not _is_date(operand):
        return node
    unit = interval.args.get("unit")
    if unit is None or unit.name.upper().rstrip("S") not in DATE_UNITS:
        _refuse_sub_day(node)
    return exp.cast(node, "DATE")


def date_add(node: exp.DateAdd) -> exp.Expression:
    unit = node.args.get("unit")
    if not _is_date(node.this):
        return node
    if unit is None or unit.name.upper() not in DATE_UNITS:
        _refuse_sub_day(node)
    return exp.cast(node, "DATE")


def at_time_zone(node: exp.AtTimeZone) -> exp.Expression:
    """The result is the wall time in the zone, without the zone: right as a column shown or cast to text,
    date or timestamp; wrong in arithmetic or comparisons, so refused there."""
    parent = node.parent
    shown = isinstance(parent, exp.Select) or (isinstance(parent, exp.Alias) and isinstance(parent.parent, exp.Select))
    if not (shown or (isinstance(parent, exp.Cast) and parent.to.this not in TEXT)):
        raise QueryError(f"{node.sql('athena')}: a value with a time zone is supported locally only as a "
                         "selected column or inside a CAST to date or timestamp")
    return exp.Anonymous(this="TIMEZONE", expressions=[node.args["zone"], exp.cast(node.this, "TIMESTAMPTZ")])
