"""Write modes: append, overwrite, overwrite-partitions, merge (with CDC operations), and reruns of a batch
id; every table read back by engines that are not ours."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.delta_protocol import check_delta_table
from tests.engines import delta_rows, duckdb_rows, pyarrow_rows, registered_locations
from tests.helpers import cli, ingest, quarantined, query
from tests.lakes import LakeDir
from tests.spark.test_ingest_edges import write_jsonl

pytestmark = [pytest.mark.spark, pytest.mark.aws]
COLUMNS = ["id", "amount", "day"]


def orders(ids, day: str, amount: float = 1.0) -> list[dict]:
    return [{"id": i, "amount": amount + i, "day": day} for i in ids]


def batch(workdir: Path, name: str, rows: list[dict]) -> Path:
    return write_jsonl(workdir / "raw" / name / "part.jsonl", rows)


def expected(*groups: list[dict]) -> list[dict]:
    return sorted((r for g in groups for r in g), key=lambda r: r["id"])


def test_parquet_overwrite_partitions_swaps_only_the_batch_partitions(workdir, lake, glue):
    first = orders(range(0, 10), "2024-01-01") + orders(range(10, 20), "2024-01-02")
    ingest(batch(workdir, "b1", first), "db.t", lake, "--partition-by", "day", "--no-govern")
    before = dict((v["day"], loc) for v, loc in registered_locations(glue, "db", "t"))

    second = orders(range(10, 15), "2024-01-02", amount=100.0) + orders(range(20, 23), "2024-01-03")
    report = ingest(batch(workdir, "b2", second), "db.t", lake, "--mode", "overwrite-partitions", "--no-govern")
    assert report["rows_written"] == 8 and report["replaced"] == ["day=2024-01-02"]
    after = dict((v["day"], loc) for v, loc in registered_locations(glue, "db", "t"))
    assert after["2024-01-01"] == before["2024-01-01"]
    assert after["2024-01-02"] != before["2024-01-02"] and "/_gen=" in after["2024-01-02"]
    assert LakeDir(before["2024-01-02"]).exists()  # the old prefix stays until vacuum: a reader may still use it
    want = expected(first[:10], second)
    assert duckdb_rows(glue, "db", "t", COLUMNS, "id") == want
    assert pyarrow_rows(glue, "db", "t", COLUMNS, "id") == want
    assert query("SELECT count(*) AS n, sum(amount) AS s FROM db.t") == [{"n": 18, "s": sum(r["amount"] for r in want)}]

    # An append after the swap lands in the partition's current location, so readers see it.
    third = orders(range(30, 32), "2024-01-02")
    ingest(batch(workdir, "b3", third), "db.t", lake, "--no-govern")
    assert duckdb_rows(glue, "db", "t", COLUMNS, "id") == expected(want, third)


def test_parquet_overwrite_replaces_the_table_and_removes_partitions_not_in_the_batch(workdir, lake, glue):
    ingest(batch(workdir, "b1", orders(range(5), "2024-01-01") + orders(range(5, 9), "2024-01-02")), "db.t",
           lake, "--partition-by", "day", "--no-govern")
    new = orders(range(100, 103), "2024-01-02")
    report = ingest(batch(workdir, "b2", new), "db.t", lake, "--mode", "overwrite", "--no-govern")
    assert sorted(report["replaced"]) == ["day=2024-01-01 (removed)", "day=2024-01-02"]
    assert [v for v, _ in registered_locations(glue, "db", "t")] == [{"day": "2024-01-02"}]
    assert duckdb_rows(glue, "db", "t", COLUMNS, "id") == expected(new)
    assert query("SELECT count(*) AS n FROM db.t") == [{"n": 3}]
    # The removed partition's old files wait for vacuum; a new append to that day must not bring them back.
    again = orders(range(300, 302), "2024-01-01")
    ingest(batch(workdir, "b3", again), "db.t", lake, "--no-govern")
    assert duckdb_rows(glue, "db", "t", COLUMNS, "id") == expected(new, again)
    assert query("SELECT count(*) AS n FROM db.t WHERE day = '2024-01-01'") == [{"n": 2}]


def test_unpartitioned_parquet_overwrite_swaps_the_table_location(workdir, lake, glue):
    ingest(batch(workdir, "b1", orders(range(4), "d")), "db.u", lake, "--no-govern")
    old = glue.get_table(DatabaseName="db", Name="u")["Table"]["StorageDescriptor"]["Location"]
    new = orders(range(50, 52), "d")
    ingest(batch(workdir, "b2", new), "db.u", lake, "--mode", "overwrite", "--no-govern")
    table = glue.get_table(DatabaseName="db", Name="u")["Table"]
    assert table["StorageDescriptor"]["Location"].startswith(old + "/_gen=")
    assert table["Parameters"]["lakeward.root"] == old
    assert pyarrow_rows(glue, "db", "u", COLUMNS, "id") == expected(new)
    more = orders(range(60, 61), "d")
    ingest(batch(workdir, "b3", more), "db.u", lake, "--no-govern")  # appends follow the table's location
    assert duckdb_rows(glue, "db", "u", COLUMNS, "id") == expected(new, more)
    assert query("SELECT count(*) AS n FROM db.u") == [{"n": 3}]


def test_delta_overwrite_and_overwrite_partitions_in_one_transaction_each(workdir, lake, glue):
    location = lake / "db" / "d"
    first = orders(range(0, 6), "2024-01-01") + orders(range(6, 12), "2024-01-02")
    ingest(batch(workdir, "b1", first), "db.d", lake, "--format", "delta", "--partition-by", "day", "--no-govern")
    second = orders(range(6, 8), "2024-01-02", amount=9.0)
    report = ingest(batch(workdir, "b2", second), "db.d", lake, "--mode", "overwrite-partitions", "--no-govern")
    assert report["replaced"] == ["day=2024-01-02"] and report["files_removed"] >= 1
    assert delta_rows(location, COLUMNS, "id") == expected(first[:6], second)
    third = orders(range(200, 203), "2024-01-05")
    report = ingest(batch(workdir, "b3", third), "db.d", lake, "--mode", "overwrite", "--no-govern")
    assert report["replaced"] == ["the whole table"]
    assert delta_rows(location, COLUMNS, "id") == expected(third)
    check_delta_table(location)
    assert query("SELECT count(*) AS n FROM db.d") == [{"n": 3}]


def test_delta_merge_applies_cdc_operations_and_rewrites_only_touched_files(workdir, lake, glue):
    location = lake / "db" / "m"
    base = [{"id": i, "name": f"n{i}", "region": "eu" if i < 5 else "us"} for i in range(10)]
    ingest(batch(workdir, "full", base), "db.m", lake, "--format", "delta", "--partition-by", "region", "--no-govern")
    us_files = {p for p in check_delta_table(location)["files"] if "region=us" in p}
    changes = [
        {"Op": "U", "id": 1, "name": "renamed", "region": "eu", "seq": 1},
        {"Op": "D", "id": 2, "name": "n2", "region": "eu", "seq": 2},
        {"Op": "I", "id": 20, "name": "new", "region": "eu", "seq": 3},
        {"Op": "U", "id": 20, "name": "newer", "region": "eu", "seq": 4},  # the later change of key 20 wins
        {"Op": "I", "id": None, "name": "no key", "region": "eu", "seq": 5},
        {"Op": "X", "id": 1, "name": "bad op", "region": "eu", "seq": 6},  # quarantined: id 1's good change stands
    ]
    report = ingest(batch(workdir, "cdc", changes), "db.m", lake, "--mode", "merge", "--merge-key", "id",
                    "--change-column", "Op", "--order-by", "seq", "--no-govern")
    assert (report["rows_read"], report["rows_written"], report["rows_quarantined"]) == (6, 4, 2)
    # id 1 updated, id 2 deleted, id 20 inserted by its later change; ids 0, 3, 4 carried from the rewritten file
    # the us file's id range (5-9) holds none of the batch's keys (1, 2, 20): it is not even read
    assert report["merge"] == {"update": 1, "delete": 1, "insert": 1, "superseded": 1, "carried": 3,
                               "files_live": 2, "files_scanned": 1}
    reasons = sorted(q["reason"] for q in quarantined(lake, "db", "m"))
    assert reasons == ["change column op: 'X' is not I (insert), U (update) or D (delete)", "merge key id is NULL"]
    rows = {r["id"]: r for r in delta_rows(location, ["id", "name", "region", "seq"], "id")}
    assert sorted(rows) == [0, 1, 3, 4, 5, 6, 7, 8, 9, 20]
    assert rows[1]["name"] == "renamed" and rows[20]["name"] == "newer" and rows[0]["name"] == "n0"
    checked = check_delta_table(location)
    assert us_files <= set(checked["files"]), "a file with no changed key was rewritten"
    assert {f["name"] for f in json.loads(checked["metadata"]["schemaString"])["fields"]} == {"id", "name", "seq", "region"}
    assert query("SELECT count(*) AS n FROM db.m WHERE region = 'eu'") == [{"n": 5}]


def test_a_rerun_of_a_batch_id_is_a_no_op(workdir, lake, glue):
    for fmt in ("parquet", "delta"):
        table = f"db.r_{fmt}"
        ingest(batch(workdir, f"{fmt}1", orders(range(3), "d")), table, lake, "--format", fmt, "--batch-id",
               "2024-01-01", "--no-govern")
        again = ingest(batch(workdir, f"{fmt}2", orders(range(3, 6), "d")), table, lake, "--batch-id",
                       "2024-01-01", "--no-govern")
        assert again["already_committed"] and again["rows_read"] == 0
        assert query(f"SELECT count(*) AS n FROM {table}") == [{"n": 3}]


@pytest.mark.parametrize("args, message", [
    (["--mode", "merge", "--merge-key", "id"], "merge needs a Delta table"),
    (["--mode", "merge"], "--mode merge needs the key columns"),
    (["--mode", "overwrite-partitions"], "is not partitioned; use --mode overwrite"),
    (["--mode", "merge", "--format", "delta", "--merge-key", "nope"], "has no column 'nope'"),
    (["--merge-key", "id"], "apply to --mode merge, not append"),
    (["--batch-id", "../x"], "--batch-id '../x'"),
])
def test_bad_write_settings_get_a_clear_message(workdir, lake, glue, args, message):
    source = batch(workdir, "b", orders(range(2), "d"))
    result = cli("ingest", str(source), "--table", "db.bad", "--lake", str(lake), "--no-govern", *args)
    assert result.exit_code == 2 and message in result.output, result.output


def test_the_glue_job_takes_the_write_settings(workdir, lake, glue):
    from glue_jobs.ingest import main

    ingest(batch(workdir, "g1", [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]), "db.g", lake, "--format", "delta",
           "--no-govern")
    changes = batch(workdir, "g2", [{"Op": "D", "id": 1, "v": "a"}, {"Op": "U", "id": 2, "v": "B"}])
    args = ["ingest.py", "--JOB_NAME", "local", "--source", str(changes), "--table", "db.g", "--lake", str(lake),
            "--mode", "merge", "--merge_keys", "id", "--change_column", "Op", "--batch_id", "cdc-0001",
            "--govern", "false", "--report", str(workdir / "g.json")]
    assert main(args) == 0
    assert delta_rows(lake / "db" / "g", ["id", "v"], "id") == [{"id": 2, "v": "B"}]
    assert main(args) == 0
    assert json.loads((workdir / "g.json").read_text())["already_committed"] == "batch cdc-0001 was committed before; nothing to do"


def test_a_merge_of_deletes_alone_removes_the_rows(workdir, lake, glue):
    location = lake / "db" / "del"
    ingest(batch(workdir, "a", [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]), "db.del", lake, "--format", "delta",
           "--no-govern")
    ingest(batch(workdir, "b", [{"id": 7, "v": "g"}]), "db.del", lake, "--no-govern")  # a file holding only key 7
    report = ingest(batch(workdir, "c", [{"Op": "D", "id": 7, "v": "g"}]), "db.del", lake, "--mode", "merge",
                    "--merge-key", "id", "--change-column", "Op", "--no-govern")
    assert report["merge"] == {"delete": 1, "files_live": 2, "files_scanned": 1} and report["files_removed"] == 1
    assert delta_rows(location, ["id", "v"], "id") == [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]
    check_delta_table(location)


def test_delta_partition_values_needing_escapes_are_replaced_and_read_back(workdir, lake, glue):
    location = lake / "db" / "esc"
    first = [{"id": 1, "city": "New York"}, {"id": 2, "city": "a:b/c"}, {"id": 3, "city": "50%"}, {"id": 4, "city": ""}]
    ingest(batch(workdir, "e1", first), "db.esc", lake, "--format", "delta", "--partition-by", "city", "--no-govern")
    assert delta_rows(location, ["id", "city"], "id") == [{**r, "city": r["city"] or None} for r in first]
    second = [{"id": 10, "city": "New York"}, {"id": 11, "city": "a:b/c"}]
    report = ingest(batch(workdir, "e2", second), "db.esc", lake, "--mode", "overwrite-partitions", "--no-govern")
    assert report["files_removed"] == 2
    rows = delta_rows(location, ["id", "city"], "id")
    assert rows == [{"id": 3, "city": "50%"}, {"id": 4, "city": None}, *second]
    check_delta_table(location)
    assert query("SELECT count(*) AS n FROM db.esc WHERE city = 'a:b/c'") == [{"n": 1}]
