"""Trino -> DuckDB translation: what DuckDB would answer differently is corrected or refused (no tables)."""
import datetime as dt
import re
from decimal import Decimal

import duckdb
import pytest

from lakeward.errors import QueryError
from lakeward.query import trino
from lakeward.query.joda import joda_to_strftime
from lakeward.query.metadata import hive_like, metadata_statement

SCHEMA = {"t": {"x": "double", "s": "string", "d": "date", "ts": "timestamp", "n": "int"}}


def run(sql: str) -> list[tuple]:
    con = duckdb.connect()
    trino.configure(con)
    con.execute("CREATE TABLE t AS SELECT 2.5::DOUBLE x, '1.5' s, DATE '2024-03-31' d, "
                "TIMESTAMP '2024-03-01 23:00:00' ts, 7 n")
    return con.execute(trino.translate(trino.parse(sql), SCHEMA).sql).fetchall()


@pytest.mark.parametrize("pattern, parsing, expected", [
    ("yyyy-MM-dd HH:mm:ss", False, "%Y-%m-%d %H:%M:%S"),
    ("d/M/yy h a", False, "%-d/%-m/%y %-I %p"),
    ("d/M/yyyy", True, "%d/%m/%Y"),
    ("EEE, dd MMM yyyy", False, "%a, %d %b %Y"),
    ("EEEE MMMM", False, "%A %B"),
    ("yyyy'T'HH 'o''clock' 100%", False, "%YT%H o'clock 100%%"),
    ("HH''mm", False, "%H'%M"),
    ("HH:mm:ss.SSS Z", True, "%H:%M:%S.%g %z"),
    ("D DDD ww", False, "%-j %j %V"),
])
def test_joda_patterns(pattern, parsing, expected):
    assert joda_to_strftime(pattern, parsing) == expected


@pytest.mark.parametrize("pattern, parsing, words", [
    ("G", False, "'G'"), ("ss.SS", False, "SSS or SSSSSS"), ("'open", False, "unterminated"),
    ("dd/MM/yy", True, "pivot"), ("DD", False, "two digits"), ("HH Z", False, "+0000"), ("z", False, "'z'"),
    ("w", False, "'w'")])
def test_joda_patterns_without_translation_are_refused(pattern, parsing, words):
    with pytest.raises(QueryError, match=re.escape(words)):
        joda_to_strftime(pattern, parsing)


def test_integer_division_casts_and_dates_follow_trino():
    assert run("SELECT n / 2, -n / 2, x / 2, n / 2.0 FROM t") == [(3, -3, 1.25, 3.5)]
    assert run("SELECT CAST(x AS integer), CAST(-x AS bigint), try_cast(s AS integer) FROM t") == [(3, -3, None)]
    assert run("SELECT d + INTERVAL '1' MONTH, date_add('day', 1, d), ts + INTERVAL '1' HOUR FROM t") == [
        (dt.date(2024, 4, 30), dt.date(2024, 4, 1), dt.datetime(2024, 3, 2, 0, 0))]
    assert run("SELECT date_diff('day', ts, timestamp '2024-03-02 22:59:59') FROM t") == [(0,)]
    with pytest.raises(duckdb.Error, match="Cannot cast '1.5' to INTEGER"):
        run("SELECT CAST(s AS integer) FROM t")


def test_unnamed_expressions_are_named_as_athena_names_them():
    con = duckdb.connect()
    cursor = con.execute(trino.translate(trino.parse("SELECT 1 + 1, 'a' AS b, upper('c')")).sql)
    assert [d[0] for d in cursor.description] == ["_col0", "b", "_col2"]


@pytest.mark.parametrize("sql, words", [
    ("SELECT url_extract_host('http://a')", "url_extract_host() has no local translation"),
    ("SELECT regexp_replace('a', 'a', s) FROM t", "replacement must be a string literal"),
    ("SELECT regexp_replace('a', '(?<x>a)', '${x}')", "named group references"),
    ("SELECT format_datetime(ts, s) FROM t", "pattern must be a string literal"),
])
def test_what_cannot_be_translated_faithfully_is_refused(sql, words):
    with pytest.raises(QueryError, match=re.escape(words)):
        trino.translate(trino.parse(sql), SCHEMA)


def test_show_patterns_and_statements():
    assert hive_like("mpg*|eco*")("economics") and not hive_like("mpg*")("ampg")
    assert hive_like("ORD*")("orders") and hive_like(None)("anything")
    kind, found = metadata_statement("show tables in `Demo` like 'o*';")
    assert kind == "tables" and found["database"] == "`Demo`" and found["pattern"] == "o*"
    assert metadata_statement("SELECT 1") is None
    with pytest.raises(QueryError, match="not supported locally"):
        metadata_statement("SHOW FUNCTIONS")


@pytest.mark.parametrize("sql, expected", [
    # Trino's answers, from its documentation (functions whose DuckDB namesake answers otherwise)
    ("SELECT slice(ARRAY[1, 2, 3], 2, 2), slice(ARRAY[1, 2, 3], -2, 2), slice(ARRAY[1, 2, 3], 1, 5)",
     [([2, 3], [2, 3], [1, 2, 3])]),
    ("SELECT substr('abc', 0), substr('abc', 0, 2), substr('abc', 2), substr('abc', -2, 1)", [("", "", "bc", "b")]),
    ("SELECT split_part('a,b', ',', 3), split_part('a,,b', ',', 2)", [(None, "")]),
    ("SELECT regexp_extract('abc', 'x'), regexp_extract('abc', 'b')", [(None, "b")]),
    ("SELECT array_max(ARRAY[1, NULL, 3]), array_min(ARRAY[4, 2]), array_distinct(ARRAY[3, 1, NULL, 3, NULL, 1])",
     [(None, 2, [3, 1, None])]),
    # decimals stay decimals, rounded half up to the larger scale
    ("SELECT 1.0 / 3, 5.00 / 3, 7 / 2", [(Decimal("0.3"), Decimal("1.67"), 3)]),
    # an unaliased subquery loses no type
    ("SELECT CAST(y AS integer) FROM (SELECT x AS y FROM t)", [(3,)]),
    ("SELECT INTERVAL '1' DAY + d, CAST(ts AS varchar), CAST(timestamp '2024-01-01 10:00:00' AS varchar) FROM t",
     [(dt.date(2024, 4, 1), "2024-03-01 23:00:00.000", "2024-01-01 10:00:00")]),
    ("SELECT d / 2, -d / 2, (d * 1.1) / 2, 10 / (3.0), -1.5 / 2 FROM (SELECT CAST(0.29 AS decimal(10, 2)) AS d)",
     [(Decimal("0.15"), Decimal("-0.15"), Decimal("0.160"), Decimal("3.3"), Decimal("-0.8"))]),
    ("SELECT CAST(123456789012345678.91 AS decimal(38, 2)) / 1", [(Decimal("123456789012345678.91"),)]),
    ("SELECT avg(v) FROM (VALUES CAST(0.01 AS decimal(4, 2)), CAST(0.02 AS decimal(4, 2))) AS t(v)",
     [(Decimal("0.02"),)]),
    ("SELECT substr(NULL, 0), substr('abc', -5), substr('hello', 3, -2)", [(None, "", "")]),
    ("SELECT slice(ARRAY[1, 2, 3], -4, 3), transform(ARRAY[1, 2], x -> array_distinct(ARRAY[x, 3]))",
     [([], [[1, 3], [2, 3]])]),
    ("SELECT try_cast(' 12 ' AS bigint), try_cast(1e20 AS integer), CAST(json_parse('2.5') AS integer)",
     [(None, None, 3)]),
    ("SELECT CAST(ts AT TIME ZONE 'Asia/Tokyo' AS timestamp) FROM t", [(dt.datetime(2024, 3, 2, 8, 0),)]),
])
def test_functions_whose_duckdb_namesake_differs(sql, expected):
    assert run(sql) == expected


@pytest.mark.parametrize("sql, words", [
    ("SELECT CAST(y AS integer) FROM (SELECT s AS y FROM t)", "Cannot cast '1.5' to INTEGER"),
    ("SELECT CAST(json_extract_scalar('{\"a\": 1.5}', '$.a') AS integer)", "Cannot cast '1.5' to INTEGER"),
    ("SELECT split_part('a,b', ',', 0)", "Index must be greater than zero"),
    ("SELECT slice(ARRAY[1, 2, 3], 0, 2)", "indices start at 1"),
])
def test_run_time_refusals(sql, words):
    with pytest.raises(duckdb.Error, match=re.escape(words)):
        run(sql)


@pytest.mark.parametrize("sql, words", [
    ("SELECT typeof(1)", "typeof()"),
    ("SELECT (ts AT TIME ZONE 'Asia/Tokyo') = ts FROM t", "only as a selected column"),
    ("SELECT CAST(ts AT TIME ZONE 'Asia/Tokyo' AS varchar) FROM t", "only as a selected column"),
    ("SELECT d + INTERVAL '2' HOUR FROM t", "cannot add hours"),
    ("SELECT date_add('hour', 1, d) FROM t", "cannot add hours"),
    ("SELECT url_encode('a b')", "url_encode() has no local translation"),
    ("SELECT CAST(x AS varchar) FROM t", "doubles in E notation"),
    ("SELECT regexp_extract('b', '(a)|(b)', 1)", "may not take part in a match"),
    ("SELECT regexp_extract('abc', '(b)', 2)", "has 1 group(s), not 2"),
    ("SELECT transform(ARRAY[1, 2], x -> x / 3.0)", "unknown type"),
])
def test_refused_where_the_answer_would_differ(sql, words):
    with pytest.raises(QueryError, match=re.escape(words)):
        trino.translate(trino.parse(sql), SCHEMA)
