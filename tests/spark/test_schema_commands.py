"""lakeward schema show | history | diff."""
import json

import pytest

from tests.helpers import cli, ingest
from tests.spark.test_ingest_edges import write_jsonl

pytestmark = [pytest.mark.spark, pytest.mark.aws]


@pytest.fixture
def table(workdir, aws_env):
    lake = workdir / "lake"
    write_jsonl(workdir / "b1/a.jsonl", [{"id": 1, "Order TS": "2024-01-01"}])
    ingest(workdir / "b1", "db.s", lake)
    write_jsonl(workdir / "b2/b.jsonl", [{"id": 2, "note": "x"}])
    ingest(workdir / "b2", "db.s", lake)
    return lake


def test_show_prints_columns_with_their_raw_names(table):
    result = cli("schema", "show", "db.s", "--output", "json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert [(c["name"], c["type"], c["raw_names"]) for c in shown["columns"]] == [
        ("id", "bigint", ["id"]), ("order_ts", "date", ["Order TS"]), ("note", "string", ["note"])]
    assert shown["parameters"]["lakeward.evolution"] == "evolve"


def test_history_lists_versions_with_their_diffs(table):
    result = cli("schema", "history", "db.s")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "version 1" in text and "created with 2 columns" in text
    assert "version 2" in text and "+ note string" in text


def test_diff_dry_runs_a_source_without_writing_anything(table, workdir, glue):
    write_jsonl(workdir / "b3/c.jsonl", [{"id": "three", "extra": 1.5}])
    versions = len(glue.get_table_versions(DatabaseName="db", TableName="s")["TableVersions"])
    ledger = sorted((table / "db/s/_lakeward/ledger").iterdir())
    files = sorted(p for p in (table / "db/s").rglob("*.parquet"))
    result = cli("schema", "diff", str(workdir / "b3"), "--table", "db.s")
    assert result.exit_code == 0, result.output
    assert "would change: added column extra double" in result.stdout
    assert "conflict: id: table bigint, source string" in result.stdout
    assert len(glue.get_table_versions(DatabaseName="db", TableName="s")["TableVersions"]) == versions
    assert sorted((table / "db/s/_lakeward/ledger").iterdir()) == ledger
    assert sorted(p for p in (table / "db/s").rglob("*.parquet")) == files
    frozen = cli("schema", "diff", str(workdir / "b3"), "--table", "db.s", "--evolution", "freeze")
    assert "not in the table: extra (values would be quarantined)" in frozen.stdout


def test_show_of_a_missing_table_is_a_clear_error(aws_env):
    result = cli("schema", "show", "db.missing")
    assert result.exit_code == 2 and "db.missing is not in the Glue Data Catalog" in result.stderr
