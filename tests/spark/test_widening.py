"""A column that meets wider values widens, and the files holding the narrower type are rewritten, so
no row is quarantined for being a double in a bigint column (Parquet and Delta, every write mode)."""
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from tests.delta_protocol import check_delta_table
from tests.helpers import cli, ingest, quarantined, query
from tests.lakes import LakeDir

pytestmark = [pytest.mark.spark, pytest.mark.aws]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _schema(file: LakeDir) -> pa.Schema:
    with file.open() as f:
        return pq.read_schema(f)


def glue_type(glue, table: str, column: str) -> str:
    columns = glue.get_table(DatabaseName="db", Name=table)["Table"]["StorageDescriptor"]["Columns"]
    return next(c["Type"] for c in columns if c["Name"] == column)


def test_an_unpartitioned_parquet_table_is_rewritten_whole_and_loses_no_row(workdir, lake, glue):
    write_jsonl(workdir / "a/a.jsonl", [{"id": i, "amount": i} for i in range(300)])
    ingest(workdir / "a", "db.u", lake)
    write_jsonl(workdir / "b/b.jsonl", [{"id": 300 + i, "amount": i + 0.5} for i in range(300)])
    report = ingest(workdir / "b", "db.u", lake)
    assert (report["rows_read"], report["rows_written"], report["rows_quarantined"]) == (300, 300, 0)
    assert report["schema_changes"] == ["widened amount bigint -> double"]
    assert "the whole table" in report["widening"][0] and "300 rows carried" in report["widening"][0]
    assert glue_type(glue, "u", "amount") == "double"
    location = glue.get_table(DatabaseName="db", Name="u")["Table"]["StorageDescriptor"]["Location"]
    files = LakeDir(location).glob("*.parquet")
    assert {_schema(f).field("amount").type for f in files} == {pa.float64()}  # no bigint file left live
    local = [f.local_copy() for f in files]
    assert duckdb.sql(f"SELECT count(*), sum(amount) FROM read_parquet({local})").fetchall() == [
        (600, sum(range(300)) + sum(i + 0.5 for i in range(300)))]
    assert query("SELECT count(*) AS n, min(amount) AS lo FROM db.u WHERE amount > 298") == [{"n": 3, "lo": 298.5}]


@pytest.mark.parametrize("mode", ["append", "merge"])
def test_a_delta_table_is_rewritten_in_one_transaction_with_the_wider_schema(workdir, lake, glue, mode):
    write_jsonl(workdir / "a/a.jsonl", [{"id": i, "amount": i, "day": f"d{i % 3}"} for i in range(30)])
    ingest(workdir / "a", "db.d", lake, "--format", "delta", "--partition-by", "day")
    extra = ["--mode", "merge", "--merge-key", "id"] if mode == "merge" else []
    write_jsonl(workdir / "b/b.jsonl", [{"id": 25 + i, "amount": i + 0.25, "day": "d1"} for i in range(10)])
    report = ingest(workdir / "b", "db.d", lake, *extra)
    assert (report["rows_written"], report["rows_quarantined"]) == (10, 0)
    assert report["widening"] and "the whole table" in report["widening"][0]
    table = DeltaTable(str(lake / "db/d"), storage_options=lake.storage_options())
    assert json.loads(table.schema().to_json())["fields"][1]["type"] == "double"
    assert table.metadata().configuration.get("delta.checkpointInterval") == "10"
    got = sorted((r["id"], r["amount"]) for r in table.to_pyarrow_table().to_pylist())
    old = [(i, float(i)) for i in range(30)]
    new = [(25 + i, i + 0.25) for i in range(10)]
    if mode == "merge":  # ids 25-29 updated, 30-34 inserted
        assert got == sorted([r for r in old if r[0] < 25] + new)
    else:
        assert got == sorted(old + new)
    assert glue_type(glue, "d", "amount") == "double"
    state = check_delta_table(lake / "db/d")
    assert {_schema(lake / "db/d" / f).field("amount").type for f in state["files"]} == {pa.float64()}


def test_quarantine_keeps_the_table_type_and_auto_stops_at_the_rewrite_limit(workdir, lake, glue, monkeypatch):
    write_jsonl(workdir / "a/a.jsonl", [{"id": i, "amount": i} for i in range(10)])
    ingest(workdir / "a", "db.q", lake)
    write_jsonl(workdir / "b/b.jsonl", [{"id": 10, "amount": 1.5}, {"id": 11, "amount": 2.0}])
    kept = ingest(workdir / "b", "db.q", lake, "--widen", "quarantine")
    assert (kept["rows_written"], kept["rows_quarantined"], kept["widening"]) == (1, 1, [])
    assert glue_type(glue, "q", "amount") == "bigint"
    assert "does not fit the table type bigint" in quarantined(lake, "db", "q")[0]["reason"]

    monkeypatch.setenv("LAKEWARD_WIDEN_REWRITE_MB", "0")
    write_jsonl(workdir / "c/c.jsonl", [{"id": 12, "amount": 3.5}])
    held = ingest(workdir / "c", "db.q", lake)
    assert (held["rows_written"], held["rows_quarantined"]) == (0, 1)
    assert "more than widen auto takes (LAKEWARD_WIDEN_REWRITE_MB=0)" in held["widening"][0]
    assert "--widen rewrite" in held["widening"][0]
    write_jsonl(workdir / "c/d.jsonl", [{"id": 13, "amount": 4.5}])
    taken = ingest(workdir / "c", "db.q", lake, "--widen", "rewrite")  # on request, past the limit
    assert (taken["rows_written"], taken["rows_quarantined"]) == (1, 0)
    assert glue_type(glue, "q", "amount") == "double"
    assert query("SELECT count(*) AS n, sum(amount) AS s FROM db.q") == [{"n": 12, "s": sum(range(10)) + 2.0 + 4.5}]


def test_declared_types_are_never_narrowed_and_old_partitions_compact(workdir, lake, glue):
    (workdir / "a").mkdir()
    pq.write_table(pa.table({"id": pa.array([1, 2], pa.int32()), "score": pa.array([1.0, 2.0], pa.float64()),
                             "day": ["d1", "d1"]}), workdir / "a/a.parquet")
    pq.write_table(pa.table({"id": pa.array([3], pa.int32()), "score": pa.array([3.0], pa.float64()),
                             "day": ["d1"]}), workdir / "a/b.parquet")
    ingest(workdir / "a", "db.n", lake, "--partition-by", "day")
    assert glue_type(glue, "n", "score") == "double"  # integral values, declared double: stays double
    (workdir / "b").mkdir()
    pq.write_table(pa.table({"id": pa.array([2**40], pa.int64()), "score": pa.array([4.5]), "day": ["d1"]}),
                   workdir / "b/c.parquet")
    ingest(workdir / "b", "db.n", lake)
    assert glue_type(glue, "n", "id") == "bigint"
    # d1 now has a file holding int32 and one holding int64 under a bigint table: compaction (Spark 3.5
    # cannot read INT32 as bigint) reads each file with the type it holds
    d1 = [_schema(f).field("id").type for f in (lake / "db/n").rglob("*.parquet")]
    assert sorted(map(str, d1)) == ["int32", "int64"]
    result = cli("optimize", "db.n", "--target-mb", "64")
    assert result.exit_code == 0, result.output
    assert "compacted 1 partition(s), 4 rows rewritten" in result.output
    assert query("SELECT id, score FROM db.n ORDER BY id") == [
        {"id": 1, "score": 1.0}, {"id": 2, "score": 2.0}, {"id": 3, "score": 3.0}, {"id": 2**40, "score": 4.5}]


def test_a_delta_table_whose_glue_entry_went_missing_keeps_its_rows_when_it_widens(workdir, lake, glue):
    write_jsonl(workdir / "a/a.jsonl", [{"id": i, "amount": i} for i in range(5)])
    ingest(workdir / "a", "db.lost", lake, "--format", "delta")
    glue.delete_table(DatabaseName="db", Name="lost")  # as a run that died between commit and catalog leaves it
    write_jsonl(workdir / "b/b.jsonl", [{"id": 5, "amount": 5.5}])
    report = ingest(workdir / "b", "db.lost", lake, "--format", "delta")
    assert report["widening"] and "the whole table" in report["widening"][0]
    lost = DeltaTable(str(lake / "db/lost"), storage_options=lake.storage_options())
    rows = sorted((r["id"], r["amount"]) for r in lost.to_pyarrow_table().to_pylist())
    assert rows == [(i, float(i)) for i in range(5)] + [(5, 5.5)]
    assert glue_type(glue, "lost", "amount") == "double"
