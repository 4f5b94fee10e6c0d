"""A string arriving in a bigint column, and a column the table does not have, under each mode."""
import json

import pytest

from tests.helpers import cli, ingest, quarantined, query
from tests.spark.test_ingest_edges import write_jsonl

pytestmark = [pytest.mark.spark, pytest.mark.aws]

FIRST = [{"id": 1, "amount": 10}]
SECOND = [{"id": "two", "amount": 20, "extra": "e"}, {"id": 3, "amount": 30}]


def versions(glue, name):
    return len(glue.get_table_versions(DatabaseName="db", TableName=name)["TableVersions"])


@pytest.mark.parametrize("table_format", ["parquet", "delta"])
def test_evolve_adds_the_column_and_quarantines_the_string(workdir, glue, table_format):
    lake = workdir / "lake"
    write_jsonl(workdir / "b1/a.jsonl", FIRST)
    ingest(workdir / "b1", "db.ev", lake, "--format", table_format)
    write_jsonl(workdir / "b2/b.jsonl", SECOND)
    report = ingest(workdir / "b2", "db.ev", lake)
    assert (report["rows_written"], report["rows_quarantined"]) == (1, 1)
    assert report["schema_changes"] == ["added column extra string"]
    assert "column id" in quarantined(lake, "db", "ev")[0]["reason"]
    assert query("SELECT id, amount, extra FROM db.ev ORDER BY id") == [
        {"id": 1, "amount": 10, "extra": None}, {"id": 3, "amount": 30, "extra": None}]


@pytest.mark.parametrize("table_format", ["parquet", "delta"])
def test_freeze_never_changes_the_catalog_and_quarantines_what_does_not_fit(workdir, glue, table_format):
    lake = workdir / "lake"
    write_jsonl(workdir / "b1/a.jsonl", FIRST)
    ingest(workdir / "b1", "db.fr", lake, "--format", table_format)
    before = glue.get_table(DatabaseName="db", Name="fr")["Table"]["StorageDescriptor"]["Columns"]
    write_jsonl(workdir / "b2/b.jsonl", SECOND)
    report = ingest(workdir / "b2", "db.fr", lake, "--evolution", "freeze")
    assert (report["rows_written"], report["rows_quarantined"]) == (1, 1)
    assert report["schema_changes"] == []
    reason = quarantined(lake, "db", "fr")[0]["reason"]
    assert "column id" in reason and "column extra (from 'extra') is not in the table" in reason
    table = glue.get_table(DatabaseName="db", Name="fr")["Table"]
    assert table["StorageDescriptor"]["Columns"] == before
    assert table["Parameters"]["lakeward.evolution"] == "freeze"
    write_jsonl(workdir / "b3/c.jsonl", [{"id": 4, "other": 1}])
    third = ingest(workdir / "b3", "db.fr", lake)  # the stored mode applies without the option
    assert (third["rows_written"], third["rows_quarantined"]) == (0, 1)


@pytest.mark.parametrize("table_format", ["parquet", "delta"])
def test_rescue_keeps_every_row_and_puts_what_does_not_fit_in_rescued_data(workdir, glue, table_format):
    lake = workdir / "lake"
    write_jsonl(workdir / "b1/a.jsonl", FIRST)
    first = ingest(workdir / "b1", "db.rs", lake, "--format", table_format, "--evolution", "rescue")
    assert first["rows_written"] == 1
    columns = [c["Name"] for c in glue.get_table(DatabaseName="db", Name="rs")["Table"]["StorageDescriptor"]["Columns"]]
    assert columns == ["id", "amount", "_rescued_data"]  # the source order
    write_jsonl(workdir / "b2/b.jsonl", SECOND)
    report = ingest(workdir / "b2", "db.rs", lake)
    assert (report["rows_written"], report["rows_quarantined"]) == (2, 0)
    rows = query('SELECT id, amount, "_rescued_data" AS r FROM db.rs ORDER BY amount')
    assert [(r["id"], r["amount"]) for r in rows] == [(1, 10), (None, 20), (3, 30)]
    assert json.loads(rows[1]["r"]) == {"id": "two", "extra": "e"}
    assert rows[0]["r"] is None and rows[2]["r"] is None


def test_freeze_needs_a_table(workdir, aws_env):
    write_jsonl(workdir / "raw/a.jsonl", FIRST)
    result = cli("ingest", str(workdir / "raw"), "--table", "db.none", "--evolution", "freeze")
    assert result.exit_code == 2 and "does not exist yet" in result.stderr


@pytest.mark.parametrize("table_format", ["parquet", "delta"])
def test_raw_name_mapping_is_recorded_and_stable_over_time(workdir, glue, table_format):
    lake = workdir / "lake"
    write_jsonl(workdir / "b1/a.jsonl", [{"Name": "upper", "name": "lower", "orderId": 1}])
    ingest(workdir / "b1", "db.names", lake, "--format", table_format)
    # Alone, raw "name" would normalise to "name"; the table already maps it to name_2, and keeps doing so.
    write_jsonl(workdir / "b2/b.jsonl", [{"name": "lower again", "order_id": 2}])
    second = ingest(workdir / "b2", "db.names", lake)
    assert second["schema_changes"] == []
    assert query("SELECT name, name_2, order_id FROM db.names ORDER BY order_id") == [
        {"name": "upper", "name_2": "lower", "order_id": 1},
        {"name": None, "name_2": "lower again", "order_id": 2}]
    columns = {c["Name"]: c for c in glue.get_table(DatabaseName="db", Name="names")["Table"]["StorageDescriptor"]["Columns"]}
    assert json.loads(columns["name"]["Parameters"]["lakeward.raw_names"]) == ["Name"]
    assert json.loads(columns["name_2"]["Parameters"]["lakeward.raw_names"]) == ["name"]
    assert json.loads(columns["order_id"]["Parameters"]["lakeward.raw_names"]) == ["orderId", "order_id"]
    assert columns["order_id"]["Comment"] == "raw name: orderId"
    assert columns["order_id"]["Parameters"]["lakeward.source"].endswith("/b1")
    assert columns["order_id"]["Parameters"]["lakeward.first_seen"].startswith("20")
    write_jsonl(workdir / "b3/c.jsonl", [{"Name": "x", "orderId": 3}])
    before = len(glue.get_table_versions(DatabaseName="db", TableName="names")["TableVersions"])
    ingest(workdir / "b3", "db.names", lake)  # nothing new: no table version
    assert len(glue.get_table_versions(DatabaseName="db", TableName="names")["TableVersions"]) == before


@pytest.mark.parametrize("table_format", ["parquet", "delta"])
def test_an_all_null_column_stays_pending_until_values_arrive(workdir, glue, table_format):
    lake = workdir / "lake"
    write_jsonl(workdir / "b1/a.jsonl", [{"id": 1, "later": None}, {"id": 2}])
    first = ingest(workdir / "b1", "db.pend", lake, "--format", table_format)
    assert first["pending_columns"] == ["later"]
    columns = lambda: [(c["Name"], c["Type"]) for c in  # noqa: E731
                       glue.get_table(DatabaseName="db", Name="pend")["Table"]["StorageDescriptor"]["Columns"]]
    assert columns() == [("id", "bigint")]
    write_jsonl(workdir / "b2/b.jsonl", [{"id": 3, "later": 7}])
    second = ingest(workdir / "b2", "db.pend", lake)
    assert second["pending_columns"] == [] and second["schema_changes"] == ["added column later bigint"]
    assert columns() == [("id", "bigint"), ("later", "bigint")]
    assert query("SELECT id, later FROM db.pend ORDER BY id") == [
        {"id": 1, "later": None}, {"id": 2, "later": None}, {"id": 3, "later": 7}]


def test_strings_that_are_timestamps_dates_or_booleans_are_typed_by_content(workdir, glue, monkeypatch):
    rows = [{"ts": "2024-03-01T10:00:00Z", "day": "2024-03-01", "flag": "true", "year": "2024", "code": "007"},
            {"ts": "2024-03-02 11:30:00.000", "day": "2024-03-02", "flag": "FALSE", "year": "2023", "code": "x1"},
            {"ts": "2024-03-03T12:00:00+02:00", "day": None, "flag": "true", "year": "2022", "code": "08"}]
    write_jsonl(workdir / "raw/a.jsonl", rows)
    ingest(workdir / "raw", "db.typed", workdir / "lake")
    columns = {c["Name"]: c for c in glue.get_table(DatabaseName="db", Name="typed")["Table"]["StorageDescriptor"]["Columns"]}
    assert {n: c["Type"] for n, c in columns.items()} == {
        "code": "string", "day": "date", "flag": "boolean", "ts": "timestamp", "year": "string"}
    assert columns["ts"]["Parameters"]["lakeward.parsed_from"] == "string (ISO-8601 timestamp)"
    assert "lakeward.parsed_from" not in columns["code"]["Parameters"]
    assert query("SELECT CAST(ts AS VARCHAR) AS ts, flag FROM db.typed ORDER BY ts") == [
        {"ts": "2024-03-01 10:00:00.000", "flag": True}, {"ts": "2024-03-02 11:30:00.000", "flag": False},
        {"ts": "2024-03-03 10:00:00.000", "flag": True}]
    # A value past the sample that does not parse is quarantined, not turned into NULL.
    monkeypatch.setenv("LAKEWARD_TYPE_SAMPLE_ROWS", "1")
    write_jsonl(workdir / "raw2/b.jsonl", [{"when": "2024-01-01T00:00:00Z"}, {"when": "soon"}])
    report = ingest(workdir / "raw2", "db.typed2", workdir / "lake")
    assert (report["rows_written"], report["rows_quarantined"]) == (1, 1)


def test_two_mapped_names_set_in_one_record_are_never_coalesced_silently(workdir, glue):
    lake = workdir / "lake"
    write_jsonl(workdir / "b1/a.jsonl", [{"userId": 1}])
    ingest(workdir / "b1", "db.both_names", lake)
    write_jsonl(workdir / "b2/b.jsonl", [{"user_id": 2}])
    ingest(workdir / "b2", "db.both_names", lake)
    write_jsonl(workdir / "b3/c.jsonl", [{"userId": 3, "user_id": 4}, {"user_id": 5}])
    report = ingest(workdir / "b3", "db.both_names", lake)
    assert (report["rows_written"], report["rows_quarantined"]) == (1, 1)
    reasons = [row["reason"] for row in quarantined(lake, "db", "both_names")]
    assert reasons == ["column user_id: fields 'userId', 'user_id' are all set in this record; they map to one column"]


def test_content_typing_is_strict_in_the_sample_and_past_it(workdir, glue, monkeypatch):
    write_jsonl(workdir / "raw/a.jsonl", [{"d": "2024-02-30"}, {"d": "2024-02-28"}])
    ingest(workdir / "raw", "db.strict", workdir / "lake")
    types = {c["Name"]: c["Type"] for c in glue.get_table(DatabaseName="db", Name="strict")["Table"]["StorageDescriptor"]["Columns"]}
    assert types == {"d": "string"}  # one impossible date in the sample: the column stays a string
    monkeypatch.setenv("LAKEWARD_TYPE_SAMPLE_ROWS", "1")
    write_jsonl(workdir / "raw2/b.jsonl", [{"d": "2024-01-01"}, {"d": "2024"}, {"d": "2024-01-02 junk"}, {"d": "2024-01-03"}])
    report = ingest(workdir / "raw2", "db.strict2", workdir / "lake")
    assert (report["rows_written"], report["rows_quarantined"]) == (2, 2)


def test_freeze_does_not_even_annotate_the_catalog(workdir, glue):
    lake = workdir / "lake"
    write_jsonl(workdir / "b1/a.jsonl", [{"orderId": 1}])
    ingest(workdir / "b1", "db.fz", lake)
    write_jsonl(workdir / "b2/b.jsonl", [{"orderId": 2}])
    ingest(workdir / "b2", "db.fz", lake, "--evolution", "freeze")  # switching the mode is recorded once
    versions = len(glue.get_table_versions(DatabaseName="db", TableName="fz")["TableVersions"])
    write_jsonl(workdir / "b3/c.jsonl", [{"Order ID": 3}])  # a new raw alias under freeze
    report = ingest(workdir / "b3", "db.fz", lake)
    assert report["rows_written"] == 1
    assert len(glue.get_table_versions(DatabaseName="db", TableName="fz")["TableVersions"]) == versions


@pytest.mark.parametrize("table_format", ["parquet", "delta"])
def test_nested_raw_names_keep_their_fields_over_time(workdir, glue, table_format):
    lake = workdir / "lake"
    write_jsonl(workdir / "b1/a.jsonl", [{"id": 1, "customer": {"email": "a@x"}}])
    ingest(workdir / "b1", "db.nest", lake, "--format", table_format)
    write_jsonl(workdir / "b2/b.jsonl", [{"id": 2, "customer": {"Email": "B@X", "email": "b@x"}}])
    ingest(workdir / "b2", "db.nest", lake)
    write_jsonl(workdir / "b3/c.jsonl", [{"id": 3, "customer": {"Email": "C@X"}}])
    ingest(workdir / "b3", "db.nest", lake)
    # "email" fed customer.email first and keeps it; "Email" got email_2 and keeps it when it comes alone.
    assert query("SELECT id, customer.email AS e, customer.email_2 AS e2 FROM db.nest ORDER BY id") == [
        {"id": 1, "e": "a@x", "e2": None}, {"id": 2, "e": "b@x", "e2": "B@X"}, {"id": 3, "e": None, "e2": "C@X"}]
    column = next(c for c in glue.get_table(DatabaseName="db", Name="nest")["Table"]["StorageDescriptor"]["Columns"]
                  if c["Name"] == "customer")
    assert json.loads(column["Parameters"]["lakeward.nested_raw_names"]) == {
        "customer": {"Email": "email_2", "email": "email"}}


def test_nested_raw_names_merged_into_one_field_are_never_coalesced_silently(workdir, glue):
    lake = workdir / "lake"
    write_jsonl(workdir / "b1/a.jsonl", [{"id": 1, "customer": {"email": "a@x"}}])
    ingest(workdir / "b1", "db.nest2", lake)
    write_jsonl(workdir / "b2/b.jsonl", [{"id": 2, "customer": {"Email": "B@X"}}])  # alone: merges into email
    ingest(workdir / "b2", "db.nest2", lake)
    write_jsonl(workdir / "b3/c.jsonl", [{"id": 3, "customer": {"Email": "C@X", "email": "c@x"}},
                                         {"id": 4, "customer": {"email": "d@x"}}])
    report = ingest(workdir / "b3", "db.nest2", lake)
    assert (report["rows_written"], report["rows_quarantined"]) == (1, 1)
    assert query("SELECT id, customer.email AS e FROM db.nest2 ORDER BY id") == [
        {"id": 1, "e": "a@x"}, {"id": 2, "e": "B@X"}, {"id": 4, "e": "d@x"}]
