"""Planted defects of every rule type in real data (ggplot2's mpg as R exports it): each caught, each
failing row quarantined with the rule it failed, everything else written; and empty input fails
RowCount > 0 without creating the table."""
from __future__ import annotations

import csv
import io
import json

import pytest

from tests.helpers import cli, ingest, quarantined, query
from tests.spark.test_real_world_data import r_dataset

pytestmark = [pytest.mark.spark, pytest.mark.aws]

RULES = r'''Rules = [
    RowCount > 200,
    ColumnExists "hwy",
    ColumnExists "rating",
    IsComplete "manufacturer" labels=["action"="quarantine"],
    Completeness "model" > 0.99 labels=["action"="quarantine"],
    IsPrimaryKey "id" labels=["action"="quarantine"],
    ColumnValues "drv" in ["f", "r", "4"] labels=["action"="quarantine"],
    ColumnValues "year" between 1998 and 2009 labels=["action"="quarantine"],
    ColumnValues "trans" matches "(auto|manual)\\(.+\\)" labels=["action"="quarantine"],
    ColumnLength "class" <= 10 labels=["action"="quarantine"],
    CustomSql "select id from primary where cty <= hwy" labels=["action"="quarantine"],
    ReferentialIntegrity "manufacturer" "makers.name" = 1.0 labels=["action"="quarantine"],
    DistinctValuesCount "fl" <= 5,
    Mean "hwy" between 20 and 30,
    StandardDeviation "displ" < 2,
    Sum "cyl" < 1500,
    Uniqueness "id" > 0.9
]'''
RI = 'ReferentialIntegrity "manufacturer" "makers.name" = 1'  # as the report writes it (1.0 reads 1)
PLANTED = {  # id -> (column, value, the rule it breaks)
    "5": ("manufacturer", "", 'IsComplete "manufacturer"'),  # an empty field: NULL
    **{str(i): ("model", "", 'Completeness "model" > 0.99') for i in range(20, 25)},
    "30": ("id", "29", 'IsPrimaryKey "id"'),
    "40": ("drv", "x", 'ColumnValues "drv" in ["f", "r", "4"]'),
    "50": ("year", "2031", 'ColumnValues "year" between 1998 and 2009'),
    "60": ("trans", "automatic", r'ColumnValues "trans" matches "(auto|manual)\\(.+\\)"'),
    "70": ("class", "subcompact-suv", 'ColumnLength "class" <= 10'),
    "90": ("cty", "40", 'CustomSql "select id from primary where cty <= hwy"'),
    "100": ("fl", "h", None),  # aggregate rules: the batch fails them, no row is quarantined for them
    "110": ("hwy", "9999", None),
    "120": ("displ", "99", None),
}


def test_planted_defects_of_every_rule_type_are_caught_and_their_rows_quarantined(workdir, glue):
    lake = workdir / "lake"
    path = r_dataset(workdir / "r", "ggplot2/mpg.csv")
    rows = list(csv.reader(io.StringIO(path.read_text())))
    header = ["id", *rows[0][1:]]  # R writes the row names under an empty header
    records = [dict(zip(header, r)) for r in rows[1:]]
    for record in records:
        if record["id"] in PLANTED:
            column, value, _ = PLANTED[record["id"]]
            record[column] = value
    raw = workdir / "raw/mpg.csv"
    raw.parent.mkdir()
    with open(raw, "w", newline="") as f:
        writer = csv.DictWriter(f, header)
        writer.writeheader()
        writer.writerows(records)
    makers = sorted({r["manufacturer"] for r in records} - {"", "lincoln"})  # the reference lacks one maker
    (workdir / "makers").mkdir()
    (workdir / "makers/makers.csv").write_text("name\n" + "\n".join(makers) + "\n")
    ingest(workdir / "makers", "cars.makers", lake, "--no-govern")
    (workdir / "rules.dqdl").write_text(RULES)

    report = ingest(raw, "cars.mpg", lake, "--no-govern", "--dq-rules", str(workdir / "rules.dqdl"))

    outcomes = {q["rule"].split(" labels")[0]: q["outcome"] for q in report["quality"]}
    failed = {rule for rule, outcome in outcomes.items() if outcome == "Failed"}
    # the controls pass: RowCount > 200, ColumnExists "hwy", Sum "cyl" < 1500, Uniqueness "id" > 0.9 (232 of 234)
    assert failed == {*(p[2] for p in PLANTED.values() if p[2]), 'ColumnExists "rating"',
                      RI, 'DistinctValuesCount "fl" <= 5',
                      'Mean "hwy" between 20 and 30', 'StandardDeviation "displ" < 2'}, outcomes
    lincoln = {r["id"] for r in records if r["manufacturer"] == "lincoln"}
    expected = {**{i: {p[2]} for i, p in PLANTED.items() if p[2]}, **{i: {RI} for i in lincoln}}
    expected["5"].add(RI)  # a NULL key is not found either
    expected["29"] = expected.pop("30")  # both rows holding id 29 fail
    got: dict[str, set[str]] = {}
    for q in quarantined(lake, "cars", "mpg"):
        assert q["reason"].startswith("data quality: ")
        row = json.loads(q["raw"])
        got.setdefault(str(row["id"]), set()).update(q["reason"].removeprefix("data quality: ").split("; "))
    assert got == expected
    quarantined_rows = len(expected) + 1  # id 29 is two rows
    assert report["rows_read"] == 234 == report["rows_written"] + report["rows_quarantined"]
    assert report["rows_quarantined"] == quarantined_rows
    assert query("SELECT count(*) AS n, max(hwy) AS top FROM cars.mpg") == [{"n": 234 - quarantined_rows, "top": 9999}]
    recorded = query("SELECT count(DISTINCT rule) AS rules FROM cars.quality_results WHERE table_name = 'mpg'")
    assert recorded == [{"rules": len(outcomes)}]  # the history, read back by DuckDB through Glue


def test_empty_input_fails_row_count_and_leaves_no_table(workdir, glue):
    (workdir / "raw").mkdir()
    (workdir / "raw/empty.jsonl").write_text("")
    (workdir / "rules.dqdl").write_text('Rules = [ RowCount > 0 labels=["action"="fail"] ]')
    result = cli("ingest", str(workdir / "raw"), "--table", "db.nothing", "--lake", str(workdir / "lake"),
                 "--no-govern", "--dq-rules", str(workdir / "rules.dqdl"))
    assert result.exit_code == 2 and "RowCount > 0" in result.output, result.output
    with pytest.raises(glue.exceptions.EntityNotFoundException):  # no table, no files
        glue.get_table(DatabaseName="db", Name="nothing")
    assert not any(p.is_file() for p in (workdir / "lake/db/nothing").rglob("*"))
    assert query("SELECT rule, outcome, value FROM db.quality_results WHERE table_name = 'nothing'") == [
        {"rule": "RowCount > 0", "outcome": "Failed", "value": 0.0}]  # the evaluation is in the history
    again = cli("ingest", str(workdir / "raw"), "--table", "db.nothing", "--lake", str(workdir / "lake"),
                "--no-govern", "--dq-rules", str(workdir / "rules.dqdl"))
    assert again.exit_code == 2, again.output  # a refused batch took nothing: the empty file is judged again


def test_zero_byte_files_are_taken_once(workdir, glue):
    """A zero-byte file is recorded as taken, with or without rows beside it: the next run skips it, so
    an empty file judged by a ``warn`` rule is judged once, not on every run until someone removes it."""
    raw, lake = workdir / "raw", workdir / "lake"
    raw.mkdir()
    (raw / "empty.jsonl").write_text("")
    (workdir / "rules.dqdl").write_text('Rules = [ RowCount > 0 labels=["action"="warn"] ]')
    rules = ("--no-govern", "--dq-rules", str(workdir / "rules.dqdl"))
    first = ingest(raw, "db.sparse", lake, *rules)
    assert [(f["path"].rsplit("/", 1)[-1], f["status"], f["rows_read"]) for f in first["files"]] == [
        ("empty.jsonl", "ingested", 0)]
    assert [q["outcome"] for q in first["quality"]] == ["Failed"]
    (raw / "orders.jsonl").write_text('{"id": 1}\n{"id": 2}\n')
    (raw / "also_empty.csv").write_text("")
    second = ingest(raw, "db.sparse", lake, *rules)
    status = {f["path"].rsplit("/", 1)[-1]: (f["status"], f["rows_read"], f["reason"]) for f in second["files"]}
    assert status["orders.jsonl"] == ("ingested", 2, None)
    assert status["also_empty.csv"] == ("ingested", 0, "empty file (0 bytes): no rows")
    assert status["empty.jsonl"][0] == "skipped" and "already ingested" in status["empty.jsonl"][2]
    third = ingest(raw, "db.sparse", lake, *rules)
    assert {f["status"] for f in third["files"]} == {"skipped"} and not third.get("quality")
    assert query("SELECT outcome, value FROM db.quality_results WHERE table_name = 'sparse' ORDER BY value") == [
        {"outcome": "Failed", "value": 0.0}, {"outcome": "Passed", "value": 2.0}]
    assert query("SELECT count(*) AS n FROM db.sparse") == [{"n": 2}]
