"""optimize compacts small files without changing a row; vacuum removes only what no reader uses."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.delta_protocol import check_delta_table
from tests.engines import delta_rows, duckdb_rows, registered_locations
from tests.helpers import cli, ingest, query
from tests.lakes import LakeDir
from tests.spark.test_write_modes import COLUMNS, batch, expected, orders

pytestmark = [pytest.mark.spark, pytest.mark.aws]


def small_batches(workdir: Path, table: str, lake: LakeDir, *extra: str) -> list[dict]:
    rows = []
    for n in range(3):
        part = orders(range(n * 10, n * 10 + 5), "2024-01-01") + orders(range(n * 10 + 5, n * 10 + 10), "2024-01-02")
        ingest(batch(workdir, f"{table}-{n}", part), table, lake, "--partition-by", "day", "--no-govern", *extra)
        rows += part
    return rows


def test_delta_optimize_compacts_in_one_transaction_and_vacuum_removes_the_old_files(workdir, lake, glue):
    location = lake / "db" / "d"
    rows = small_batches(workdir, "db.d", lake, "--format", "delta")
    before = check_delta_table(location)["files"]
    assert len(before) == 6
    result = cli("optimize", "db.d")
    assert result.exit_code == 0, result.output
    assert "compacted 2 partition(s), 30 rows rewritten" in result.output
    after = check_delta_table(location)
    assert len(after["files"]) == 2 and not set(after["files"]) & set(before)
    last = sorted((location / "_delta_log").glob("*.json"))[-1]
    actions = [json.loads(line) for line in last.read_text().splitlines()]
    assert {a["add"]["dataChange"] for a in actions if "add" in a} == {False}
    assert len([a for a in actions if "remove" in a]) == 6
    assert delta_rows(location, COLUMNS, "id") == expected(rows)

    kept = cli("vacuum", "db.d")  # within the retention: nothing goes
    assert kept.exit_code == 0 and "removed 0 file(s)" in kept.output, kept.output
    assert all((location / p).exists() for p in before)
    gone = cli("vacuum", "db.d", "--retain-hours", "0", "--force")
    assert gone.exit_code == 0 and "removed 6 file(s)" in gone.output, gone.output
    assert not any((location / p).exists() for p in before)
    assert delta_rows(location, COLUMNS, "id") == expected(rows)
    assert query("SELECT count(*) AS n FROM db.d") == [{"n": 30}]


def test_parquet_optimize_swaps_the_chosen_partitions_and_vacuum_waits_for_the_retention(workdir, lake, glue):
    rows = small_batches(workdir, "db.p", lake)
    old = dict((v["day"], loc) for v, loc in registered_locations(glue, "db", "p"))
    result = cli("optimize", "db.p", "--where", "day = '2024-01-01'")
    assert result.exit_code == 0 and "compacted 1 partition(s)" in result.output, result.output
    new = dict((v["day"], loc) for v, loc in registered_locations(glue, "db", "p"))
    assert new["2024-01-02"] == old["2024-01-02"] and "/_gen=" in new["2024-01-01"]
    assert len(LakeDir(new["2024-01-01"]).glob("*.parquet")) == 1
    assert len(LakeDir(old["2024-01-02"]).glob("*.parquet")) == 3
    assert duckdb_rows(glue, "db", "p", COLUMNS, "id") == expected(rows)

    dry = cli("vacuum", "db.p", "--retain-hours", "0", "--force", "--dry-run")
    assert "would remove 3 file(s)" in dry.output, dry.output
    assert len(LakeDir(old["2024-01-01"]).glob("*.parquet")) == 3
    assert cli("vacuum", "db.p").output.count("removed 0 file(s)") == 1
    gone = cli("vacuum", "db.p", "--retain-hours", "0", "--force")
    assert "removed 3 file(s)" in gone.output, gone.output
    assert not LakeDir(old["2024-01-01"]).glob("*.parquet")
    assert query("SELECT count(*) AS n, count(DISTINCT id) AS d FROM db.p") == [{"n": 30, "d": 30}]


@pytest.mark.parametrize("args, message", [
    (["vacuum", "db.x", "--retain-hours", "1"], "pass --force if none can"),
    (["optimize", "db.x", "--where", "amount > 3"], "may name only partition columns (day)"),
    (["optimize", "db.nope"], "table db.nope is not in the Glue Data Catalog"),
])
def test_maintenance_errors_name_what_to_fix(workdir, lake, glue, args, message):
    ingest(batch(workdir, "x", orders(range(2), "2024-01-01")), "db.x", lake, "--partition-by", "day",
           "--no-govern")
    result = cli(*args)
    assert result.exit_code == 2 and message in result.output, result.output


def test_optimize_first_rolls_back_a_batch_whose_writer_died(workdir, lake, glue):
    root = lake / "db" / "c"
    small_batches(workdir, "db.c", lake)
    # A writer that died after publishing a file into a live partition, before committing its record.
    published = root.glob("day=2024-01-01/*.parquet")[0]
    orphan = published.parent / "part-orphan.parquet"
    orphan.write_bytes(published.read_bytes())
    record = root / "_lakeward" / "ledger" / "19990101T000000-dead.json"
    record.write_text(json.dumps({"batch_id": "19990101T000000-dead", "status": "pending", "started_at": 0,
                                  "sources": [], "outputs": [str(orphan.relative_to(root))]}))
    result = cli("optimize", "db.c")
    assert result.exit_code == 0 and "30 rows rewritten" in result.output, result.output
    assert not record.exists() and not orphan.exists()
    assert query("SELECT count(*) AS n, count(DISTINCT id) AS d FROM db.c") == [{"n": 30, "d": 30}]
