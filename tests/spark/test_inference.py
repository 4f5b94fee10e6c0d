"""Content typing of epochs and money, schema hints from a spec file, and which files caused a type."""
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.helpers import cli, ingest, quarantined, query
from tests.spark.test_ingest_edges import write_jsonl

pytestmark = [pytest.mark.spark, pytest.mark.aws]

MARCH_1_10H_MS = 1709287200000  # 2024-03-01T10:00:00Z


def glue_columns(glue, name):
    table = glue.get_table(DatabaseName="db", Name=name)["Table"]
    return {c["Name"]: c for c in (*table["StorageDescriptor"]["Columns"], *table.get("PartitionKeys", []))}


@pytest.mark.parametrize("table_format", ["parquet", "delta"])
def test_epochs_in_time_named_columns_and_money_strings_are_typed(workdir, glue, table_format):
    rows = [{"created_at": MARCH_1_10H_MS, "updated_ts": 1709287200, "order_number": MARCH_1_10H_MS,
             "price": "12.50", "version": "1.2", "rate": "1.5"},
            {"created_at": MARCH_1_10H_MS + 1500, "updated_ts": 1709290800, "order_number": 7,
             "price": "-3.99", "version": "2.0", "rate": "2.25"}]
    write_jsonl(workdir / "raw/a.jsonl", rows)
    ingest(workdir / "raw", "db.epochs", workdir / "lake", "--format", table_format)
    columns = glue_columns(glue, "epochs")
    assert {n: c["Type"] for n, c in columns.items()} == {
        "created_at": "timestamp", "order_number": "bigint", "price": "decimal(38,2)", "rate": "string",
        "updated_ts": "timestamp", "version": "string"}
    assert columns["created_at"]["Parameters"]["lakeward.parsed_from"] == "bigint (epoch milliseconds)"
    assert columns["updated_ts"]["Parameters"]["lakeward.parsed_from"] == "bigint (epoch seconds)"
    assert columns["price"]["Parameters"]["lakeward.parsed_from"] == "string (decimal with 2 places)"
    assert query("SELECT CAST(created_at AS VARCHAR) AS c, CAST(updated_ts AS VARCHAR) AS u, "
                 "CAST(sum(price) OVER () AS VARCHAR) AS total FROM db.epochs ORDER BY c") == [
        {"c": "2024-03-01 10:00:00.000", "u": "2024-03-01 10:00:00.000", "total": "8.51"},
        {"c": "2024-03-01 10:00:01.500", "u": "2024-03-01 11:00:00.000", "total": "8.51"}]


def test_an_integer_never_becomes_a_time_silently(workdir, glue, monkeypatch):
    lake = workdir / "lake"
    write_jsonl(workdir / "b1/a.jsonl", [{"id": 1, "ts": "2024-03-01T10:00:00Z", "created_at": MARCH_1_10H_MS}])
    ingest(workdir / "b1", "db.times", lake)
    # ts was typed from ISO strings: 42 is no time. created_at is epoch milliseconds: this batch sends seconds
    # (which the content shows), then 5, which is no time in either unit.
    write_jsonl(workdir / "b2/b.jsonl", [{"id": 2, "ts": 42}, {"id": 3, "created_at": 1709373600}])
    report = ingest(workdir / "b2", "db.times", lake)
    assert (report["rows_written"], report["rows_quarantined"]) == (1, 1)
    assert "column ts" in quarantined(lake, "db", "times")[0]["reason"]
    monkeypatch.setenv("LAKEWARD_TYPE_SAMPLE_ROWS", "1")
    write_jsonl(workdir / "b3/c.jsonl", [{"id": 4, "created_at": MARCH_1_10H_MS}, {"id": 5, "created_at": 5}])
    report = ingest(workdir / "b3", "db.times", lake)
    assert (report["rows_written"], report["rows_quarantined"]) == (1, 1)
    assert query("SELECT id, CAST(created_at AS VARCHAR) AS c FROM db.times ORDER BY id") == [
        {"id": 1, "c": "2024-03-01 10:00:00.000"}, {"id": 3, "c": "2024-03-02 10:00:00.000"},
        {"id": 4, "c": "2024-03-01 10:00:00.000"}]


SPEC = """
lake: {lake}
tables:
  db.hinted:
    source: {raw}
    format: delta
    partition_by: country
    hints:
      zip: string
      amount: decimal(12,2)
      when: string
"""


def test_spec_file_declares_the_table_and_hints_override_inference(workdir, glue):
    write_jsonl(workdir / "raw/a.jsonl", [
        {"zip": 1234, "amount": 10.5, "when": "2024-03-01", "country": "DE"},
        {"zip": 75001, "amount": 3, "when": "2024-03-02", "country": "FR"},
        {"zip": 1000, "amount": 1.234, "when": "2024-03-03", "country": "FR"}])
    spec = workdir / "lakeward.yaml"
    spec.write_text(SPEC.format(lake=workdir / "lake", raw=workdir / "raw"))
    result = cli("ingest", "--spec", str(spec), "--report", str(workdir / "r.json"))
    assert result.exit_code == 0, result.output
    report = json.loads((workdir / "r.json").read_text())
    assert (report["format"], report["rows_written"], report["rows_quarantined"]) == ("delta", 2, 1)
    assert "column amount" in quarantined(workdir / "lake", "db", "hinted")[0]["reason"]  # 1.234 needs 3 places
    assert {n: c["Type"] for n, c in glue_columns(glue, "hinted").items()} == {
        "zip": "string", "amount": "decimal(12,2)", "when": "string", "country": "string"}
    assert query("SELECT zip, CAST(amount AS VARCHAR) AS amount FROM db.hinted ORDER BY zip") == [
        {"zip": "1234", "amount": "10.50"}, {"zip": "75001", "amount": "3.00"}]


def test_a_hint_the_table_cannot_take_is_refused_naming_the_column(workdir, glue):
    write_jsonl(workdir / "raw/a.jsonl", [{"n": 1}])
    ingest(workdir / "raw", "db.hint_conflict", workdir / "lake")
    write_jsonl(workdir / "raw2/b.jsonl", [{"n": 2}])
    result = cli("ingest", str(workdir / "raw2"), "--table", "db.hint_conflict", "--lake", str(workdir / "lake"),
                 "--hint", "n=string")
    assert result.exit_code == 2
    assert "hint n: string conflicts with column n of table db.hint_conflict, which is bigint" in result.output


def test_the_report_names_the_files_behind_an_in_batch_type_conflict(workdir, glue):
    raw = workdir / "raw"
    write_jsonl(raw / "ints.jsonl", [{"code": 1, "qty": 1}, {"code": 2, "qty": 2}])
    write_jsonl(raw / "strings.jsonl", [{"code": "A7", "qty": 3}])
    (raw / "doubles.csv").write_text("code,qty\n3,1.5\n")
    pq.write_table(pa.table({"code": pa.array([4], pa.int32()), "qty": pa.array([5], pa.int64())}),
                   raw / "typed.parquet")
    report = ingest(raw, "db.blame", workdir / "lake")
    assert report["rows_written"] == 5
    by_column = {c["column"]: c for c in report["file_type_conflicts"]}
    names = lambda uris: sorted(u.rsplit("/", 1)[-1] for u in uris)  # noqa: E731
    assert by_column["code"]["type"] == "string"
    assert {k: names(v) for k, v in by_column["code"]["files"].items()} == {
        "bigint": ["doubles.csv", "ints.jsonl", "typed.parquet"], "string": ["strings.jsonl"]}
    assert by_column["qty"]["type"] == "double"
    assert {k: names(v) for k, v in by_column["qty"]["files"].items()} == {
        "bigint": ["ints.jsonl", "strings.jsonl", "typed.parquet"], "double": ["doubles.csv"]}


def test_booleans_never_become_times_or_numbers(workdir, glue):
    lake = workdir / "lake"
    write_jsonl(workdir / "b1/a.jsonl", [{"id": 1, "shipped_at": "2024-03-01T10:00:00Z", "qty": 2}])
    ingest(workdir / "b1", "db.bools", lake)
    write_jsonl(workdir / "b2/b.jsonl", [{"id": 2, "shipped_at": False}, {"id": 3, "qty": True}, {"id": 4}])
    report = ingest(workdir / "b2", "db.bools", lake)
    assert (report["rows_written"], report["rows_quarantined"]) == (1, 2)
    reasons = sorted(r["reason"].split(":")[0] for r in quarantined(lake, "db", "bools"))
    assert reasons == ["column qty", "column shipped_at"]


def test_hints_agreeing_with_content_keep_its_format_and_unused_hints_are_reported(workdir, glue):
    write_jsonl(workdir / "raw/a.jsonl", [{"created_at": MARCH_1_10H_MS, "n": 1}])
    report = ingest(workdir / "raw", "db.hint_epoch", workdir / "lake", "--hint", "created_at=timestamp",
                    "--hint", "zip_code=string")
    assert (report["rows_written"], report["unmatched_hints"]) == (1, ["zip_code"])
    assert query("SELECT CAST(created_at AS VARCHAR) AS c FROM db.hint_epoch") == [{"c": "2024-03-01 10:00:00.000"}]


def test_an_existing_integer_column_is_not_retyped_and_transforms_need_times(workdir, glue):
    lake = workdir / "lake"
    write_jsonl(workdir / "b1/a.jsonl", [{"created_at": 5}, {"created_at": 6}])  # not epochs: stays bigint
    ingest(workdir / "b1", "db.ints", lake)
    write_jsonl(workdir / "b2/b.jsonl", [{"created_at": MARCH_1_10H_MS}])
    report = ingest(workdir / "b2", "db.ints", lake)
    assert (report["rows_written"], report["type_conflicts"]) == (1, [])
    assert glue_columns(glue, "ints")["created_at"]["Type"] == "bigint"
    result = cli("ingest", str(workdir / "b2"), "--table", "db.ints2", "--lake", str(lake), "--partition-by",
                 "d=date(n)", "--hint", "n=bigint")
    assert result.exit_code == 2  # n is not in the data
    write_jsonl(workdir / "b3/c.jsonl", [{"n": 7}])
    result = cli("ingest", str(workdir / "b3"), "--table", "db.ints3", "--lake", str(lake), "--partition-by", "d=date(n)")
    assert result.exit_code == 2 and "column 'n' is bigint; a date transform needs a date, timestamp" in result.output


def test_spec_wide_options_without_a_table_are_refused(workdir, aws_env):
    spec = workdir / "lakeward.yaml"
    spec.write_text("tables:\n  db.a:\n    source: raw/a\n  db.b:\n    source: raw/b\n")
    result = cli("ingest", "raw/c", "--spec", str(spec))
    assert result.exit_code == 2
    assert f"SOURCE would apply to all 2 tables of {spec}; add --table DB.TABLE" in result.output
    assert "--hint" in cli("ingest", "--spec", str(spec), "--hint", "n=string").output


def test_a_tables_own_null_values_are_null_in_text_columns_too_and_type_numbers(workdir, glue):
    raw = workdir / "raw"
    raw.mkdir()
    # a survey export: "-" and "n/a" mean missing; "NA" is a real country code (Namibia) in this source
    (raw / "survey.csv").write_text("id,score,country,comment\n1,7,NA,good\n2,-,DE,n/a\n3,9,n/a,-\n4,5,FR,ok\n")
    spec = workdir / "lakeward.yaml"
    spec.write_text(f"lake: {workdir / 'lake'}\ntables:\n  db.survey:\n    source: {raw}\n"
                    "    null_values: ['-', 'n/a']\n")
    result = cli("ingest", "--spec", str(spec), "--report", str(workdir / "r.json"))
    assert result.exit_code == 0, result.output
    report = json.loads((workdir / "r.json").read_text())
    assert (report["rows_written"], report["rows_quarantined"]) == (4, 0)
    assert report["null_tokens"] == {"comment": 2, "country": 1, "score": 1}
    assert {n: c["Type"] for n, c in glue_columns(glue, "survey").items()} == {
        "id": "bigint", "score": "bigint", "country": "string", "comment": "string"}
    assert query("SELECT id, score, country, comment FROM db.survey ORDER BY id") == [
        {"id": 1, "score": 7, "country": "NA", "comment": "good"},
        {"id": 2, "score": None, "country": "DE", "comment": None},
        {"id": 3, "score": 9, "country": None, "comment": None},
        {"id": 4, "score": 5, "country": "FR", "comment": "ok"}]
    # by default the same file keeps its text as it is: only typed columns read tokens as NULL
    write_jsonl(workdir / "raw2/a.jsonl", [{"id": 5, "comment": "n/a"}])
    plain = ingest(workdir / "raw2", "db.plain", workdir / "lake")
    assert plain["null_tokens"] == {}
    assert query("SELECT comment FROM db.plain") == [{"comment": "n/a"}]
