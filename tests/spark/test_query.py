"""Athena-dialect SQL through the catalog: joins, CTEs, partition pruning, output formats."""
import json

import pytest

from tests.helpers import cli, ingest, query

pytestmark = [pytest.mark.spark, pytest.mark.aws]


@pytest.fixture
def tables(workdir, aws_env):
    raw = workdir / "raw"
    raw.mkdir()
    (raw / "o.jsonl").write_text("".join(json.dumps(
        {"id": i, "cust": i % 3, "day": f"2024-01-0{1 + i % 4}", "price": i * 1.5}) + "\n" for i in range(1, 13)))
    (workdir / "c").mkdir()
    (workdir / "c/c.csv").write_text("cust,Name\n0,zero\n1,one\n2,two\n")
    ingest(raw, "shop.orders", workdir / "lake", "--partition-by", "day")
    ingest(workdir / "c", "shop.customers", workdir / "lake", "--format", "delta")


def test_join_cte_and_athena_functions(tables):
    rows = query("""
        WITH big AS (SELECT * FROM shop.orders WHERE price > 6)
        SELECT c.name, count(*) AS n, approx_distinct(b.day) AS days, date_format(max(date(b.day)), '%Y-%m') AS ym
        FROM big b JOIN shop.customers c ON b.cust = c.cust
        GROUP BY c.name ORDER BY c.name""")
    # price > 6 keeps ids 5..12: cust 0 -> 6, 9, 12; cust 1 -> 7, 10; cust 2 -> 5, 8, 11.
    assert rows == [{"name": "one", "n": 2, "days": 2, "ym": "2024-01"},
                    {"name": "two", "n": 3, "days": 3, "ym": "2024-01"},
                    {"name": "zero", "n": 3, "days": 3, "ym": "2024-01"}]


def test_partition_predicates_prune_before_any_file_is_opened(tables, workdir):
    # Damage every file outside the selected partition: a pruned scan never opens them.
    for f in (workdir / "lake/shop/orders").glob("day=2024-01-0[234]/*.parquet"):
        f.write_bytes(b"not parquet")
    result = cli("query", "SELECT count(*) AS n FROM shop.orders o WHERE o.day = '2024-01-01' AND price > 0")
    assert result.exit_code == 0, result.output
    assert "1 of 4 partitions" in result.stderr
    assert query("SELECT count(*) AS n FROM shop.orders WHERE day IN ('2024-01-01')") == [{"n": 3}]


def test_csv_output(tables):
    result = cli("query", "SELECT cust, name FROM shop.customers ORDER BY cust", "--output", "csv")
    assert result.stdout.splitlines() == ["cust,name", "0,zero", "1,one", "2,two"]


def test_outer_joins_and_self_joins_are_not_over_pruned(tables):
    # Every order matches itself, so no row has a NULL right side; pruning the right side by
    # "day IS NULL" before the join would empty it and return all 12 rows.
    assert query("SELECT count(*) AS n FROM shop.orders o LEFT JOIN shop.orders p ON o.id = p.id "
                 "WHERE p.day IS NULL") == [{"n": 0}]
    # Day 1 holds ids 4, 8, 12 (customers 1, 2, 0); each customer has 4 orders in all. The predicate names
    # the unaliased table only; pruning o2 by it too would give 3.
    assert query("SELECT count(*) AS n FROM shop.orders JOIN shop.orders o2 ON orders.cust = o2.cust "
                 "WHERE orders.day = '2024-01-01'") == [{"n": 12}]
    assert query("SELECT x, y FROM shop.customers AS c(x, y) ORDER BY x LIMIT 1") == [{"x": 0, "y": "zero"}]
