"""Athena conformance: statements an analyst runs, answered by ``lakeward query`` over tables lakeward wrote
from public data (ggplot2's mpg and economics as R exports them), each compared with the same question
answered independently: DuckDB reading the Parquet files directly (no catalog, no translation), delta-rs
reading the Delta table, or a value computed by hand from the Trino documentation.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path

import duckdb
import pytest
import sqlglot
from deltalake import DeltaTable

from lakeward.errors import QueryError
from lakeward.query import run_query
from lakeward.runtime.aws import aws_context
from lakeward.runtime.settings import Settings
from tests.helpers import ingest
from tests.spark.test_real_world_data import r_dataset

pytestmark = [pytest.mark.spark, pytest.mark.aws]

# (Athena statement, independent answer: DuckDB SQL over the files, a list of rows, or an error's words)
SEMANTICS = [
    # timestamp and date arithmetic with intervals
    ("SELECT count(*) FROM conf.economics WHERE date > date '2010-01-01' - INTERVAL '1' YEAR",
     "SELECT count(*) FROM economics WHERE date > DATE '2009-01-01'"),
    ("SELECT date '2024-01-31' + INTERVAL '1' MONTH", [(dt.date(2024, 2, 29),)]),
    ("SELECT date_add('day', 7, min(date)) FROM conf.economics", "SELECT min(date) + 7 FROM economics"),
    ("SELECT date_diff('day', timestamp '2024-03-01 23:00:00', timestamp '2024-03-02 01:00:00')", [(0,)]),
    ("SELECT date_diff('month', date '2024-01-15', date '2024-02-14')", [(0,)]),
    ("SELECT timestamp '2024-03-01 10:00:00' - INTERVAL '90' MINUTE", [(dt.datetime(2024, 3, 1, 8, 30),)]),
    ("SELECT timestamp '2024-03-01 10:00:00' AT TIME ZONE 'America/New_York'", [(dt.datetime(2024, 3, 1, 5, 0),)]),
    ("SELECT date_trunc('month', timestamp '2024-03-17 10:11:12')", [(dt.datetime(2024, 3, 1),)]),
    # integer division and overflow
    ("SELECT 7 / 2, -7 / 2, 7.0 / 2, 7 % 3", [(3, -3, 3.5, 1)]),
    ("SELECT sum(hwy) / count(*), avg(hwy) FROM conf.mpg", "SELECT sum(hwy) // count(*), avg(hwy) FROM mpg"),
    ("SELECT CAST(2147483647 AS integer) + CAST(1 AS integer)", "overflow"),
    ("SELECT 1 / 0", "division by zero"),
    # CAST failures raise, try_cast returns NULL
    ("SELECT CAST('abc' AS integer)", "Cannot cast 'abc' to INTEGER"),
    ("SELECT CAST('1.5' AS integer)", "Cannot cast '1.5' to INTEGER"),
    ("SELECT try_cast('1.5' AS integer), try_cast('abc' AS bigint), try_cast(' 42 ' AS integer)",
     [(None, None, None)]),  # Trino does not trim
    ("SELECT CAST(2.5e0 AS integer), CAST(-2.5e0 AS bigint), CAST(2.5 AS integer)", [(3, -3, 3)]),
    # strings, with Trino's argument order
    ("SELECT strpos(model, 'a'), substr(model, 2, 3), split_part(trans, '(', 1), lpad(fl, 3, '0'), "
     "replace(model, ' '), length(model), reverse(drv), upper(manufacturer) FROM conf.mpg ORDER BY 1, 2, 3, 4, 5, 6, 7, 8",
     "SELECT instr(model, 'a'), substring(model, 2, 3), split_part(trans, '(', 1), lpad(fl, 3, '0'), "
     "replace(model, ' ', ''), length(model), reverse(drv), upper(manufacturer) FROM mpg ORDER BY 1, 2, 3, 4, 5, 6, 7, 8"),
    ("SELECT concat('a', 'b', 'c'), 'x' || 'y', position('c' IN 'abc'), trim('  a  '), starts_with('abc', 'ab')",
     [("abc", "xy", 3, "a", True)]),
    # Joda (format_datetime, parse_datetime) and MySQL (date_format, date_parse) patterns
    ("SELECT format_datetime(date, 'yyyy-MM'), count(*) FROM conf.economics GROUP BY 1 ORDER BY 1",
     "SELECT strftime(date, '%Y-%m'), count(*) FROM economics GROUP BY 1 ORDER BY 1"),
    ("SELECT format_datetime(timestamp '2024-03-05 07:08:09.123', 'EEEE d MMMM yyyy, hh:mm:ss.SSS a ''Q''')",
     [("Tuesday 5 March 2024, 07:08:09.123 AM Q",)]),
    ("SELECT parse_datetime('2024-03-01 10:11', 'yyyy-MM-dd HH:mm')", [(dt.datetime(2024, 3, 1, 10, 11),)]),
    ("SELECT date_format(timestamp '2024-03-05 07:08:09', '%Y-%m-%d %H:%i:%s %W %b %e')",
     [("2024-03-05 07:08:09 Tuesday Mar 5",)]),
    ("SELECT date_parse('05/03/2024 07:08', '%d/%m/%Y %H:%i')", [(dt.datetime(2024, 3, 5, 7, 8),)]),
    ("SELECT format_datetime(timestamp '2024-03-05 07:08:09', 'G yyyy')", "'G' has no local translation"),
    # approx_*
    ("SELECT approx_distinct(model), approx_percentile(hwy, 0.5) FROM conf.mpg",
     "SELECT count(DISTINCT model), quantile_cont(hwy, 0.5) FROM mpg"),
    # arrays, maps and lambdas
    ("SELECT transform(ARRAY[1, 2, 3], x -> x * 2), filter(ARRAY[1, 2, 3], x -> x > 1), "
     "reduce(ARRAY[1, 2, 3], 0, (s, x) -> s + x, s -> s * 10), cardinality(ARRAY[1, 2]), contains(ARRAY[1], 1)",
     [([2, 4, 6], [2, 3], 60, 2, True)]),
    ("SELECT element_at(map(ARRAY['a', 'b'], ARRAY[1, 2]), 'b'), array_join(ARRAY['x', 'y'], '-')", [(2, "x-y")]),
    ("SELECT manufacturer, cardinality(array_agg(DISTINCT class)) FROM conf.mpg GROUP BY 1 ORDER BY 1",
     "SELECT manufacturer, count(DISTINCT class) FROM mpg GROUP BY 1 ORDER BY 1"),
    # UNNEST ... WITH ORDINALITY (of scalars and of rows)
    ("SELECT x, n FROM UNNEST(ARRAY['a', 'b']) WITH ORDINALITY AS t(x, n)", [("a", 1), ("b", 2)]),
    ("SELECT m, n FROM (SELECT ARRAY[ROW('a', 1), ROW('b', 2)] AS r) CROSS JOIN UNNEST(r) AS u(m, n)",
     [("a", 1), ("b", 2)]),
    # TABLESAMPLE, GROUPING SETS, window frames
    ("SELECT count(*) FROM conf.mpg TABLESAMPLE BERNOULLI (100)", "SELECT count(*) FROM mpg"),
    ("SELECT count(*) FROM conf.mpg TABLESAMPLE BERNOULLI (0)", [(0,)]),
    ("SELECT year, cyl, count(*) FROM conf.mpg GROUP BY GROUPING SETS ((year), (cyl), ()) ORDER BY 1, 2",
     "SELECT year, cyl, count(*) FROM mpg GROUP BY GROUPING SETS ((year), (cyl), ()) ORDER BY 1, 2"),
    ("SELECT manufacturer, hwy, sum(cty) OVER (PARTITION BY manufacturer ORDER BY hwy "
     "RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM conf.mpg ORDER BY 1, 2, 3",
     "SELECT manufacturer, hwy, sum(cty) OVER (PARTITION BY manufacturer ORDER BY hwy "
     "RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM mpg ORDER BY 1, 2, 3"),
    ("SELECT year, cyl, n, avg(n) OVER (ORDER BY year, cyl ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) "
     "FROM (SELECT year, cyl, count(*) AS n FROM conf.mpg GROUP BY 1, 2) ORDER BY 1, 2",
     "SELECT year, cyl, n, avg(n) OVER (ORDER BY year, cyl ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) "
     "FROM (SELECT year, cyl, count(*) AS n FROM mpg GROUP BY 1, 2) ORDER BY 1, 2"),
    # regexp_*
    ("SELECT regexp_extract(trans, '\\((\\w+)\\)', 1), regexp_like(model, '^a'), "
     "regexp_replace(trans, '(\\w+)\\((\\w+)\\)', '$2-$1') FROM conf.mpg ORDER BY 1, 2, 3",
     "SELECT regexp_extract(trans, '\\((\\w+)\\)', 1), regexp_matches(model, '^a'), "
     "regexp_replace(trans, '(\\w+)\\((\\w+)\\)', '\\2-\\1') FROM mpg ORDER BY 1, 2, 3"),
    # JSON
    ("SELECT json_extract_scalar('{\"a\": {\"b\": [1, 2]}}', '$.a.b[1]'), "
     "json_extract_scalar('{\"a\": {\"b\": [1, 2]}}', '$.a'), json_array_length('[1, 2, 3]'), "
     "json_array_length('{\"a\": 1}')", [("2", None, 3, None)]),
    ("SELECT json_format(json_parse('{\"a\": 1}'))", [('{"a":1}',)]),
    # VALUES and CTEs
    ("WITH t AS (SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS v(x, y)) SELECT sum(x), max(y) FROM t",
     [(3, "b")]),
    ("WITH big AS (SELECT * FROM conf.mpg WHERE displ > 4) SELECT b.class, count(*) FROM big b "
     "JOIN conf.mpg_delta d ON b.model = d.model AND b.year = d.year AND b.trans = d.trans AND b.cty = d.cty "
     "AND b.displ = d.displ AND b.hwy = d.hwy GROUP BY 1 ORDER BY 1",
     "WITH big AS (SELECT * FROM mpg WHERE displ > 4) SELECT b.class, count(*) FROM big b JOIN mpg_delta d "
     "ON b.model = d.model AND b.year = d.year AND b.trans = d.trans AND b.cty = d.cty AND b.displ = d.displ "
     "AND b.hwy = d.hwy GROUP BY 1 ORDER BY 1"),
    # partition pruning decides with Trino's arithmetic (year / 10 is an integer division)
    ("SELECT count(*) FROM conf.mpg WHERE year / 10 = 200", "SELECT count(*) FROM mpg WHERE year // 10 = 200"),
    # Delta, with partition pruning
    ("SELECT count(*), sum(hwy) FROM conf.mpg_delta WHERE year = 2008",
     "SELECT count(*), sum(hwy) FROM mpg_delta WHERE year = 2008"),
    # no translation: a clear one-line refusal naming the function
    ("SELECT url_extract_host('https://example.com/a')", "url_extract_host() has no local translation"),
    ("INSERT INTO conf.mpg SELECT * FROM conf.mpg", "only queries"),
]

METADATA = [
    ("SHOW DATABASES", [("conf",)]),
    ("SHOW SCHEMAS LIKE 'co*'", [("conf",)]),
    ("SHOW TABLES IN conf", [("economics",), ("mpg",), ("mpg_delta",)]),
    ("SHOW TABLES IN conf 'mpg*'", [("mpg",), ("mpg_delta",)]),
    ("SHOW TABLES IN conf LIKE 'eco*|*delta'", [("economics",), ("mpg_delta",)]),
    ("SHOW TABLES IN \"CONF\" 'mpg.*'", [("mpg",), ("mpg_delta",)]),
    ("DESCRIBE EXTENDED conf.mpg", "not supported locally"),
    ("SHOW PARTITIONS conf.mpg", [("year=1999",), ("year=2008",)]),
    ("SHOW PARTITIONS conf.mpg_delta", [("year=1999",), ("year=2008",)]),
    ("SELECT table_name FROM information_schema.tables WHERE table_schema = 'conf' ORDER BY 1",
     [("economics",), ("mpg",), ("mpg_delta",)]),
    ("SELECT schema_name FROM information_schema.schemata ORDER BY 1", [("conf",), ("information_schema",)]),
    ("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'economics' "
     "AND column_name IN ('date', 'pce') ORDER BY ordinal_position", [("date", "date"), ("pce", "double")]),
]


@pytest.fixture
def tables(workdir, aws_env) -> Path:
    raw = workdir / "raw"
    mpg = r_dataset(raw / "mpg", "ggplot2/mpg.csv")
    economics = r_dataset(raw / "economics", "ggplot2/economics.csv")
    lake = workdir / "lake"
    ingest(mpg.parent, "conf.mpg", lake, "--partition-by", "year", "--no-govern")
    ingest(mpg.parent, "conf.mpg_delta", lake, "--partition-by", "year", "--format", "delta", "--no-govern")
    ingest(economics.parent, "conf.economics", lake, "--no-govern")
    return lake


def _reference(lake: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB reading the files itself: no catalog, no translation."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for table in ("mpg", "economics"):
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{lake}/conf/{table}/**/*.parquet', "
                    "hive_partitioning = true, union_by_name = true)")
    con.register("mpg_delta", DeltaTable(str(lake / "conf/mpg_delta")).to_pyarrow_table())
    return con


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(float(a), float(b), rel_tol=1e-9)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _run(statement: str) -> list[tuple]:
    with aws_context(Settings.load()) as aws:
        return run_query(aws, statement).rows


def test_athena_statements_answer_as_the_independent_engine_does(tables):
    reference = _reference(tables)
    failures = []
    for statement, expected in SEMANTICS + METADATA:
        try:
            got = _run(statement)
        except QueryError as e:
            if not (isinstance(expected, str) and not expected.upper().startswith(("SELECT", "WITH"))
                    and expected.lower() in str(e).lower()):
                failures.append(f"{statement}\n  raised: {e}")
            elif "\n" in str(e) or "Traceback" in str(e):
                failures.append(f"{statement}\n  error is not one line: {e}")
            continue
        if isinstance(expected, str) and not expected.upper().startswith(("SELECT", "WITH")):
            failures.append(f"{statement}\n  expected an error with {expected!r}, got {got}")
            continue
        want = reference.execute(expected).fetchall() if isinstance(expected, str) else expected
        if statement.startswith("SELECT approx"):
            ok = abs(got[0][0] - want[0][0]) <= 0.05 * want[0][0] and abs(got[0][1] - want[0][1]) <= 1
        else:
            ok = _same(got, want)
        if not ok:
            failures.append(f"{statement}\n  got  {got[:5]}\n  want {want[:5]}")
    assert not failures, f"{len(failures)} of {len(SEMANTICS + METADATA)} differ:\n" + "\n".join(failures)


def test_describe_columns_and_create_table_describe_the_registered_table(tables):
    columns = [r[0] for r in _run("SHOW COLUMNS IN conf.mpg")]
    assert columns[-1] == "year" and {"manufacturer", "model", "hwy", "class"} <= set(columns)
    assert _run("SHOW COLUMNS FROM mpg FROM conf") == [(c,) for c in columns]
    described = _run("DESCRIBE conf.mpg")
    assert [r[0] for r in described[:len(columns)]] == columns
    assert ("# Partition Information", "", "") in described and described[-1][:2] == ("year", "bigint")
    ddl = "\n".join(r[0] for r in _run("SHOW CREATE TABLE conf.mpg"))
    create = sqlglot.parse_one(ddl, read="hive")  # what Athena would run is valid Hive DDL
    defined = [c.name for c in create.find_all(sqlglot.exp.ColumnDef)]
    assert defined == columns
    assert f"LOCATION\n  '{(tables / 'conf/mpg').as_uri()}'" in ddl and "PARTITIONED BY" in ddl
    delta = "\n".join(r[0] for r in _run("SHOW CREATE TABLE conf.mpg_delta"))
    assert "'table_type'='DELTA'" in delta
    with pytest.raises(QueryError, match="not supported locally"):
        _run("SHOW VIEWS IN conf")


def test_pseudo_columns_name_the_file_behind_each_row_and_prune_by_it(tables):
    reference = duckdb.connect()
    by_file = dict(reference.execute(
        f"SELECT 'file://' || filename, count(*) FROM read_parquet('{tables}/conf/mpg/**/*.parquet', filename = true) "
        "GROUP BY 1").fetchall())
    got = _run('SELECT "$path", "$file_size", count(*) FROM conf.mpg GROUP BY 1, 2')
    assert {path: n for path, _, n in got} == by_file
    assert all(size == Path(re.sub("^file://", "", path)).stat().st_size for path, size, _ in got)
    one = sorted(by_file)[0]
    with aws_context(Settings.load()) as aws:
        result = run_query(aws, f"SELECT count(*) AS n, max(\"$file_modified_time\") AS at FROM conf.mpg "
                                f"WHERE \"$path\" = '{one}'")
    assert result.rows[0][0] == by_file[one] and isinstance(result.rows[0][1], dt.datetime)
    delta = _run('SELECT count(DISTINCT "$path"), count(*) FROM conf.mpg_delta')
    assert delta == [(len(DeltaTable(str(tables / "conf/mpg_delta")).file_uris()), 234)]
