"""Hostile names, schema drift across batches, unreadable files, crash recovery and bad input."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.delta_protocol import check_delta_table
from tests.helpers import cli, ingest, quarantined, query

pytestmark = [pytest.mark.spark, pytest.mark.aws]
ATHENA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,254}$")


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_hostile_column_names_become_valid_unique_athena_names(workdir, glue):
    hostile = {"first name": "a", "a.b": 1, 'quo"te': 2, "ünïcödé": 3, "DROP TABLE": 4, "x" * 300: 5,
               "Name": "upper", "name": "lower", "名前": "jp", "nested": {"Inner Field": 1, "inner_field": 2}}
    write_jsonl(workdir / "raw/h.jsonl", [hostile])
    report = ingest(workdir / "raw", "db.hostile", workdir / "lake")
    assert report["rows_written"] == 1
    columns = glue.get_table(DatabaseName="db", Name="hostile")["Table"]["StorageDescriptor"]["Columns"]
    names = [c["Name"] for c in columns]
    assert all(ATHENA_NAME.match(n) for n in names), names
    assert len(set(names)) == len(names) == len(hostile)
    assert {"first_name", "a_b", "quo_te", "unicode", "drop_table", "name", "name_2"} <= set(names)
    nested = next(c["Type"] for c in columns if c["Name"] == "nested")
    assert nested == "struct<inner_field:bigint,inner_field_2:bigint>"
    row = query("SELECT name, name_2, drop_table, nested.inner_field_2 AS f FROM db.hostile")
    assert row == [{"name": "upper", "name_2": "lower", "drop_table": 4, "f": 2}]


def test_schema_drift_widens_every_numeric_type_and_quarantines_only_what_no_type_holds(workdir, glue):
    import pyarrow as pa
    import pyarrow.parquet as pq

    lake = workdir / "lake"
    (workdir / "b1").mkdir()
    pq.write_table(pa.table({"id": pa.array([1, 2], pa.int64()), "qty": pa.array([1, 2], pa.int32()),
                             "ratio": pa.array([0.5, 1.5], pa.float32()), "amount": pa.array([10, 20], pa.int64()),
                             "day": ["d1", "d2"]}), workdir / "b1/a.parquet")
    ingest(workdir / "b1", "db.drift", lake, "--partition-by", "day")
    write_jsonl(workdir / "b2/b.jsonl", [
        {"id": 3, "qty": 3, "ratio": 2.5, "amount": 30.0, "note": "x", "day": "d1"},
        {"id": 4, "qty": 4, "ratio": 3.5, "amount": 40.5, "day": "d3"}])
    second = ingest(workdir / "b2", "db.drift", lake)
    assert sorted(second["schema_changes"]) == [
        "added column note string", "widened amount bigint -> double", "widened qty int -> bigint",
        "widened ratio float -> double"]
    assert (second["rows_written"], second["rows_quarantined"], second["type_conflicts"]) == (2, 0, [])
    # bigint -> double: d1, which the batch writes to, is rewritten in double; d2 keeps declaring the bigint
    # its file holds (Athena casts it per partition); d3 is new.
    assert len(second["widening"]) == 1 and "day=d1" in second["widening"][0] and "1 rows carried" in second["widening"][0]
    table = glue.get_table(DatabaseName="db", Name="drift")["Table"]
    columns = [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]
    assert columns == [("id", "bigint"), ("qty", "bigint"), ("ratio", "double"), ("amount", "double"),
                       ("note", "string")]
    declared = {p["Values"][0]: [(c["Name"], c["Type"]) for c in p["StorageDescriptor"]["Columns"]]
                for p in glue.get_partitions(DatabaseName="db", TableName="drift")["Partitions"]}
    assert declared["d1"] == declared["d3"] == columns
    assert declared["d2"] == [("id", "bigint"), ("qty", "bigint"), ("ratio", "double"), ("amount", "bigint"),
                              ("note", "string")]

    write_jsonl(workdir / "b3/c.jsonl", [{"id": "5", "amount": 4}, {"id": "five", "amount": 5},
                                         {"id": "6.5", "amount": 6}])
    third = ingest(workdir / "b3", "db.drift", lake)
    assert (third["rows_written"], third["rows_quarantined"]) == (1, 2)
    assert third["type_conflicts"][0].startswith("id: table bigint, batch string; 2 rows quarantined from 1 file(s), "
                                                 "e.g. c.jsonl: column id: value '")
    rows = quarantined(lake, "db", "drift")
    assert sorted(json.loads(r["raw"])["id"] for r in rows) == ["6.5", "five"]
    # a later batch writing to d2, which still declares bigint, rewrites it in double first
    write_jsonl(workdir / "b4/d.jsonl", [{"id": 7, "amount": 7.25, "day": "d2"}])
    fourth = ingest(workdir / "b4", "db.drift", lake)
    assert fourth["schema_changes"] == [] and "day=d2" in fourth["widening"][0]
    declared = {p["Values"][0]: dict((c["Name"], c["Type"]) for c in p["StorageDescriptor"]["Columns"])
                for p in glue.get_partitions(DatabaseName="db", TableName="drift")["Partitions"]}
    assert declared["d2"]["amount"] == "double"
    assert query("SELECT id, qty, ratio, amount, note, day FROM db.drift ORDER BY id") == [
        {"id": 1, "qty": 1, "ratio": 0.5, "amount": 10.0, "note": None, "day": "d1"},
        {"id": 2, "qty": 2, "ratio": 1.5, "amount": 20.0, "note": None, "day": "d2"},
        {"id": 3, "qty": 3, "ratio": 2.5, "amount": 30.0, "note": "x", "day": "d1"},
        {"id": 4, "qty": 4, "ratio": 3.5, "amount": 40.5, "note": None, "day": "d3"},
        {"id": 5, "qty": None, "ratio": None, "amount": 4.0, "note": None, "day": None},
        {"id": 7, "qty": None, "ratio": None, "amount": 7.25, "note": None, "day": "d2"}]
    live = [p["StorageDescriptor"]["Location"] for p in glue.get_partitions(DatabaseName="db", TableName="drift")["Partitions"]]
    files = sorted(str(f) for loc in live for f in Path(loc.removeprefix("file://")).glob("*.parquet"))
    # a second engine reads every live file, each partition with the type it declares
    assert duckdb.sql(f"SELECT count(*), sum(amount) FROM read_parquet({files}, union_by_name=true)").fetchall() == [
        (6, 10.0 + 20 + 30 + 40.5 + 4 + 7.25)]


def test_unreadable_files_are_quarantined_whole_and_counted(workdir):
    raw = workdir / "raw"
    write_jsonl(raw / "good.jsonl", [{"a": 1}])
    (raw / "blob.bin").write_bytes(b"\x00\x01garbage")
    (raw / "cut.parquet").write_bytes(b"PAR1" + b"\x00" * 20)
    report = ingest(raw, "db.q", workdir / "lake")
    assert (report["rows_read"], report["rows_written"], report["rows_quarantined"]) == (3, 1, 2)
    whole = {Path(f["path"]).name: f["reason"] for f in report["files"] if f["status"] == "quarantined"}
    assert set(whole) == {"blob.bin", "cut.parquet"}
    copies = list((workdir / "lake/_quarantine/db/q").rglob("files/*"))
    assert sorted(p.name for p in copies) == ["blob.bin", "cut.parquet"]
    listing = quarantined(workdir / "lake", "db", "q", "files.jsonl")
    assert {Path(r["source_file"]).name for r in listing} == {"blob.bin", "cut.parquet"}


def test_a_crashed_batch_is_rolled_back_before_the_rerun(workdir):
    raw, lake = workdir / "raw", workdir / "lake"
    write_jsonl(raw / "a.jsonl", [{"id": 1, "day": "2024-01-01"}])
    ingest(raw, "db.crash", lake, "--partition-by", "day")
    # A writer that died after publishing a file but before committing its ledger record.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    published = next((lake / "db/crash").rglob("*.parquet"))
    orphan = published.parent / "part-orphan.parquet"
    orphan.write_bytes(published.read_bytes())
    ledger = lake / "db/crash/_lakeward/ledger"
    (ledger / "19990101T000000-dead.json").write_text(json.dumps({
        "batch_id": "19990101T000000-dead", "status": "pending", "started_at": 0, "host": os.uname().nodename,
        "pid": int(dead.stdout), "sources": [{"uri": f"file://{raw}/b.jsonl", "size": 1, "mtime_ns": 1}],
        "outputs": [str(orphan.relative_to(lake / "db/crash"))]}))
    write_jsonl(raw / "b.jsonl", [{"id": 2, "day": "2024-01-01"}])
    report = ingest(raw, "db.crash", lake)
    assert report["recovered_batches"] and "rolled back (1 files)" in report["recovered_batches"][0]
    assert not orphan.exists() and not (ledger / "19990101T000000-dead.json").exists()
    assert query("SELECT id FROM db.crash ORDER BY id") == [{"id": 1}, {"id": 2}]


@pytest.mark.parametrize("args, message", [
    (["ingest", "nowhere/", "--table", "db.t"], "SOURCE nowhere/ does not exist"),
    (["ingest", ".", "--table", "no_dot"], "expected DB.TABLE"),
    (["ingest", "raw", "--table", "db.t", "--partition-by", "dt=date(missing)"], "column 'missing' is not in the data"),
    (["ingest", "raw", "--table", "db.t", "--partition-by", "dt=week(a)"], "unknown transform 'week'"),
    (["query", "SELECT * FROM db.absent"], "db.absent is not in the Glue Data Catalog"),
    (["query", "SELEC nonsense"], "cannot parse the query|query failed|only queries"),
])
def test_bad_input_gets_one_clear_line_and_a_nonzero_exit(workdir, aws_env, args, message):
    write_jsonl(workdir / "raw/a.jsonl", [{"a": 1}])
    result = cli(*args)
    assert result.exit_code == 2
    assert re.search(message, result.stderr), result.stderr
    assert "Traceback" not in result.output


def test_format_of_an_existing_table_cannot_change(workdir, aws_env):
    write_jsonl(workdir / "raw/a.jsonl", [{"a": 1}])
    ingest(workdir / "raw", "db.fmt", workdir / "lake")
    result = cli("ingest", str(workdir / "raw"), "--table", "db.fmt", "--format", "delta")
    assert result.exit_code == 2 and "is a parquet table; --format delta cannot change it; pass --format parquet" in result.stderr


def test_glue_job_script_runs_locally(workdir, glue):
    from glue_jobs.ingest import main

    write_jsonl(workdir / "raw/a.jsonl", [{"a": 1}, {"a": 2}])
    status = main(["ingest.py", "--JOB_NAME", "local", "--source", str(workdir / "raw"), "--table", "db.job",
                   "--lake", str(workdir / "lake"), "--report", str(workdir / "r.json")])
    assert status == 0
    assert json.loads((workdir / "r.json").read_text())["rows_written"] == 2
    assert glue.get_table(DatabaseName="db", Name="job")["Table"]["Parameters"]["classification"] == "parquet"


def _log_schema_as_hive(location: Path) -> list[tuple[str, str]]:
    """The latest metaData schema in the Delta log, in Hive type names (an independent reading)."""
    names = {"long": "bigint", "integer": "int", "string": "string", "double": "double", "date": "date",
             "timestamp": "timestamp", "boolean": "boolean"}

    def hive(t):
        if isinstance(t, str):
            return names[t]
        if t["type"] == "struct":
            return "struct<" + ",".join(f"{f['name']}:{hive(f['type'])}" for f in t["fields"]) + ">"
        if t["type"] == "array":
            return f"array<{hive(t['elementType'])}>"
        raise AssertionError(t)

    schema = None
    for commit in sorted((location / "_delta_log").glob("*.json")):
        for line in commit.read_text().splitlines():
            if "metaData" in json.loads(line):
                schema = json.loads(json.loads(line)["metaData"]["schemaString"])
    return [(f["name"], hive(f["type"])) for f in schema["fields"]]


def test_delta_evolves_additively_and_glue_follows_the_log(workdir, glue):
    from deltalake import DeltaTable

    lake = workdir / "lake"
    write_jsonl(workdir / "b1/a.jsonl", [{"id": 1, "amount": 1, "s": {"x": 1}}])
    ingest(workdir / "b1", "db.dd", lake, "--format", "delta")
    write_jsonl(workdir / "b2/b.jsonl", [{"id": 2, "amount": 2.5, "note": "n", "s": {"x": 2, "y": "q"}},
                                         {"id": 3, "amount": 3.0, "s": {"x": 3, "y": "r"}}])
    second = ingest(workdir / "b2", "db.dd", lake, "--format", "delta")
    assert sorted(second["schema_changes"]) == [
        "added column note string", "added nested fields to s: struct<x:bigint> -> struct<x:bigint,y:string>",
        "widened amount bigint -> double"]
    # A Delta column's type changes only with every file rewritten (Athena reads no typeWidening feature):
    # one overwrite transaction carries the old rows in double with the new ones.
    assert (second["type_conflicts"], second["rows_written"], second["rows_quarantined"]) == ([], 2, 0)
    glue_columns = [(c["Name"], c["Type"]) for c in
                    glue.get_table(DatabaseName="db", Name="dd")["Table"]["StorageDescriptor"]["Columns"]]
    assert glue_columns == _log_schema_as_hive(lake / "db/dd") == [
        ("id", "bigint"), ("amount", "double"), ("s", "struct<x:bigint,y:string>"), ("note", "string")]
    check_delta_table(lake / "db/dd")
    rows = sorted(DeltaTable(str(lake / "db/dd")).to_pyarrow_table().to_pylist(), key=lambda r: r["id"])
    assert rows == [{"id": 1, "amount": 1.0, "s": {"x": 1, "y": None}, "note": None},
                    {"id": 2, "amount": 2.5, "s": {"x": 2, "y": "q"}, "note": "n"},
                    {"id": 3, "amount": 3.0, "s": {"x": 3, "y": "r"}, "note": None}]


def test_a_nested_field_the_table_cannot_hold_is_quarantined_not_dropped(workdir):
    lake = workdir / "lake"
    write_jsonl(workdir / "b1/a.jsonl", [{"s": {"x": 1}}])
    ingest(workdir / "b1", "db.nest", lake, "--format", "delta")
    write_jsonl(workdir / "b2/b.jsonl", [{"s": {"x": "text", "extra": 1}}, {"s": {"x": "2"}}])
    report = ingest(workdir / "b2", "db.nest", lake, "--format", "delta")
    assert (report["rows_written"], report["rows_quarantined"]) == (1, 1)


def test_more_than_100_partitions_are_registered_in_batches(workdir, glue):
    write_jsonl(workdir / "raw/p.jsonl", [{"k": i, "v": i * 2} for i in range(250)])
    report = ingest(workdir / "raw", "db.many", workdir / "lake", "--partition-by", "k")
    assert len(report["partitions"]) == 250
    paginator = glue.get_paginator("get_partitions")
    values = sorted(int(p["Values"][0]) for page in paginator.paginate(DatabaseName="db", TableName="many")
                    for p in page["Partitions"])
    assert values == list(range(250))
    assert query("SELECT sum(v) AS s FROM db.many WHERE k >= 200") == [{"s": sum(i * 2 for i in range(200, 250))}]


def test_bzip2_pipe_and_headerless_csv_are_read(workdir):
    import bz2

    raw = workdir / "raw"
    raw.mkdir()
    (raw / "a.csv.bz2").write_bytes(bz2.compress(b"id|city\n1|Oslo\n2|Rome\n"))
    (raw / "b.csv").write_text("3,Lima\n4,Kyiv\n")
    report = ingest(raw, "db.csvs", workdir / "lake")
    assert (report["rows_read"], report["rows_written"]) == (4, 4)
    # Spark names headerless columns _c0, _c1..., normalised to c0, c1.
    rows = query("SELECT id, city, c0, c1 FROM db.csvs ORDER BY coalesce(id, c0)")
    assert [list(r.values()) for r in rows] == [
        [1, "Oslo", None, None], [2, "Rome", None, None], [None, None, 3, "Lima"], [None, None, 4, "Kyiv"]]


@pytest.mark.parametrize("content", [b"\x00\x01 binary only", b'{"truncated": \nnot json either\n'])
def test_a_batch_with_nothing_writable_leaves_no_table_and_is_not_redone(workdir, glue, content):
    raw = workdir / "raw"
    raw.mkdir()
    (raw / "only.json").write_bytes(content)
    report = ingest(raw, "db.empty", workdir / "lake")
    assert report["rows_written"] == 0 and report["rows_quarantined"] == report["rows_read"] > 0
    assert glue.get_databases()["DatabaseList"] == []  # nothing writable: no database, no table
    again = ingest(raw, "db.empty", workdir / "lake")
    assert again["rows_read"] == 0 and again["files"][0]["status"] == "skipped"


def test_hostile_file_and_partition_names_are_read_and_accounted(workdir):
    raw = workdir / "raw"
    write_jsonl(raw / "my file [1] {x} 100% ü*.jsonl", [{"id": 1, "tag": "a/b c:d%e"}, {"id": 2, "tag": "ü"}])
    report = ingest(raw, "db.odd", workdir / "lake", "--partition-by", "tag")
    assert [(Path(f["path"]).name, f["rows_written"]) for f in report["files"]] == [("my file [1] {x} 100% ü*.jsonl", 2)]
    assert sorted(p["values"]["tag"] for p in report["partitions"]) == ["a/b c:d%e", "ü"]
    assert query("SELECT id, tag FROM db.odd WHERE tag = 'a/b c:d%e'") == [{"id": 1, "tag": "a/b c:d%e"}]


def test_a_live_writer_blocks_and_a_dead_one_does_not(workdir, aws_env, monkeypatch):
    write_jsonl(workdir / "raw/a.jsonl", [{"a": 1}])
    lock = workdir / "lake/db/locked/_lakeward/lock.json"
    lock.parent.mkdir(parents=True)
    holder = {"token": "t", "host": os.uname().nodename, "pid": os.getpid(), "purpose": "another ingest",
              "heartbeat": __import__("time").time()}
    lock.write_text(json.dumps(holder))
    monkeypatch.setenv("LAKEWARD_LOCK_WAIT_S", "1")
    blocked = cli("ingest", str(workdir / "raw"), "--table", "db.locked", "--lake", str(workdir / "lake"))
    assert blocked.exit_code == 2 and "is being written by another ingest" in blocked.stderr
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lock.write_text(json.dumps({**holder, "pid": int(dead.stdout)}))
    assert ingest(workdir / "raw", "db.locked", workdir / "lake")["rows_written"] == 1
    assert not lock.exists()


def test_glue_is_rebuilt_from_the_delta_log_when_it_went_missing(workdir, glue):
    write_jsonl(workdir / "raw/a.jsonl", [{"id": 1, "day": "d1"}])
    ingest(workdir / "raw", "db.heal", workdir / "lake", "--format", "delta", "--partition-by", "day")
    before = glue.get_table(DatabaseName="db", Name="heal")["Table"]
    glue.delete_table(DatabaseName="db", Name="heal")
    report = ingest(workdir / "raw", "db.heal", workdir / "lake", "--format", "delta")
    assert report["rows_read"] == 0
    after = glue.get_table(DatabaseName="db", Name="heal")["Table"]
    assert [(c["Name"], c["Type"], json.loads(c["Parameters"]["lakeward.raw_names"]))
            for c in after["StorageDescriptor"]["Columns"]] == [
        (c["Name"], c["Type"], json.loads(c["Parameters"]["lakeward.raw_names"])) for c in before["StorageDescriptor"]["Columns"]]
    assert after["Parameters"]["lakeward.partition_spec"] == "day"
    assert query("SELECT id FROM db.heal WHERE day = 'd1'") == [{"id": 1}]


def test_equally_normalised_names_from_different_files_are_one_column(workdir, glue):
    write_jsonl(workdir / "raw/a.jsonl", [{"orderId": 1}])
    write_jsonl(workdir / "raw/b.jsonl", [{"order_id": 2}])
    write_jsonl(workdir / "raw/c.jsonl", [{"Order ID": 3, "a`b": "tick"}])
    ingest(workdir / "raw", "db.merged", workdir / "lake")
    columns = [c["Name"] for c in glue.get_table(DatabaseName="db", Name="merged")["Table"]["StorageDescriptor"]["Columns"]]
    assert sorted(columns) == ["a_b", "order_id"]
    assert query("SELECT order_id, a_b FROM db.merged ORDER BY 1") == [
        {"order_id": 1, "a_b": None}, {"order_id": 2, "a_b": None}, {"order_id": 3, "a_b": "tick"}]


def test_tables_lakeward_did_not_create_are_refused(workdir, glue):
    glue.create_database(DatabaseInput={"Name": "db"})
    glue.create_table(DatabaseName="db", TableInput={"Name": "legacy", "Parameters": {"classification": "csv"},
                                                     "StorageDescriptor": {"Columns": [{"Name": "a", "Type": "int"}],
                                                                           "Location": str(workdir / "legacy")}})
    write_jsonl(workdir / "raw/a.jsonl", [{"a": 1}])
    result = cli("ingest", str(workdir / "raw"), "--table", "db.legacy")
    assert result.exit_code == 2 and "csv table not created by lakeward" in result.stderr


def test_reserved_column_names_are_refused_with_the_file_named(workdir, aws_env):
    write_jsonl(workdir / "raw/r.jsonl", [{"__lakeward_file": 1}])
    result = cli("ingest", str(workdir / "raw"), "--table", "db.r", "--lake", str(workdir / "lake"))
    assert result.exit_code == 2 and "r.jsonl" in result.stderr and "reserves" in result.stderr


def test_a_failure_that_is_not_bad_input_exits_3_naming_its_cause_and_place(workdir):
    write_jsonl(workdir / "raw/a.jsonl", [{"a": 1}])
    (workdir / "lakefile").write_text("not a folder")
    done = subprocess.run([sys.executable, "-m", "lakeward.cli", "ingest", str(workdir / "raw"), "--table", "db.t",
                           "--lake", str(workdir / "lakefile/sub"), "--no-govern"], capture_output=True, text=True,
                          cwd=workdir, timeout=300)
    assert done.returncode == 3, done.stderr
    message = " ".join(done.stderr.split())
    assert "I/O failed: NotADirectoryError" in message and "lakefile/sub" in message
    assert re.search(r"at lakeward/[a-z_/]+\.py:\d+ in \w+", message)
    trace = Path(re.search(r"traceback in (\S+?)\)", message).group(1)).read_text()
    assert "Traceback" in trace and "NotADirectoryError" in trace
