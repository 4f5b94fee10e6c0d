"""PII classification inside ingestion and on demand: what lands in the Glue column Parameters."""
import json

import pytest

from tests.helpers import cli, ingest
from tests.spark.test_ingest_edges import write_jsonl

pytestmark = [pytest.mark.spark, pytest.mark.aws]

PEOPLE = [
    {"order_id": "ORD-100231", "email": "ana@example.com", "Phone": "+49 30 901820", "email_opt_in": True,
     "customer": {"Full Name": "Ana Müller", "id": 7}, "tracking": "4929123412341235", "note": "gift"},
    {"order_id": "ORD-100232", "email": "bo@example.org", "Phone": "+1 (415) 555-2671", "email_opt_in": False,
     "customer": {"Full Name": "Bo Li", "id": 8}, "tracking": "4929123412341236", "note": "fragile"},
    {"order_id": "ORD-100233", "email": "cy@example.net", "Phone": "+44 20 7946 0958", "email_opt_in": True,
     "customer": {"Full Name": "Cy Twombly", "id": 9}, "tracking": "4929123412341237", "note": None},
]


def parameters(glue, table):
    columns = glue.get_table(DatabaseName="db", Name=table)["Table"]["StorageDescriptor"]["Columns"]
    return {c["Name"]: c.get("Parameters", {}) for c in columns}


@pytest.mark.parametrize("table_format", ["parquet", "delta"])
def test_ingest_classifies_new_columns_into_glue_parameters(workdir, glue, table_format):
    write_jsonl(workdir / "b1/a.jsonl", PEOPLE)
    report = ingest(workdir / "b1", "db.people", workdir / "lake", "--format", table_format)
    assert report["pii"] == {"email": "EMAIL", "phone": "PHONE_NUMBER", "customer.full_name": "PERSON_NAME"}
    params = parameters(glue, "people")
    assert (params["email"]["pii"], params["phone"]["pii"], params["customer"]["pii"]) == (
        "EMAIL", "PHONE_NUMBER", "PERSON_NAME")
    assert 0.8 <= float(params["email"]["pii_confidence"]) <= 1.0
    assert json.loads(params["customer"]["lakeward.pii_fields"]) == {"customer.full_name": "PERSON_NAME"}
    for decoy in ("order_id", "email_opt_in", "tracking", "note"):
        assert "pii" not in params[decoy], decoy
    # A later batch classifies only what it adds; earlier findings stay.
    write_jsonl(workdir / "b2/b.jsonl", [{"order_id": "ORD-100234", "ssn": "536-22-1234"},
                                         {"order_id": "ORD-100235", "ssn": "287-65-4321"}])
    second = ingest(workdir / "b2", "db.people", workdir / "lake")
    assert second["pii"] == {"ssn": "USA_SSN"}
    assert parameters(glue, "people")["email"]["pii"] == "EMAIL"


def test_classify_command_records_pii_once_and_dry_run_changes_nothing(workdir, lake, glue):
    write_jsonl(workdir / "b1/a.jsonl", PEOPLE)
    ingest(workdir / "b1", "db.later", lake, "--format", "delta")
    table = glue.get_table(DatabaseName="db", Name="later")["Table"]
    for column in table["StorageDescriptor"]["Columns"]:  # as if ingested before classification existed
        column["Parameters"] = {k: v for k, v in column.get("Parameters", {}).items()
                                if k not in ("pii", "pii_confidence", "lakeward.pii_fields")}
    table_input = {k: table[k] for k in ("Name", "StorageDescriptor", "PartitionKeys", "TableType", "Parameters")
                   if k in table}
    glue.update_table(DatabaseName="db", TableInput=table_input)
    versions = lambda: len(glue.get_table_versions(DatabaseName="db", TableName="later")["TableVersions"])  # noqa: E731
    before = versions()
    dry = cli("classify", "db.later", "--dry-run")
    assert dry.exit_code == 0 and "EMAIL" in dry.output and "catalog unchanged" in dry.output
    assert versions() == before and "pii" not in parameters(glue, "later")["email"]
    result = cli("classify", "db.later")
    assert result.exit_code == 0 and "catalog updated" in result.output
    assert parameters(glue, "later")["email"]["pii"] == "EMAIL"
    assert versions() == before + 1
    assert "catalog unchanged" in cli("classify", "db.later").output
    assert versions() == before + 1
    assert cli("classify", "db.missing").exit_code == 2


PROTECT_SPEC = """
tables:
  db.protected:
    source: {raw}
    format: {table_format}
governance:
  ontology:
    sensitivity: [internal, confidential, pii]
  rules:
    EMAIL: {{sensitivity: pii}}
    PHONE_NUMBER: {{sensitivity: pii}}
    PERSON_NAME: {{sensitivity: pii}}
  not_pii: {{sensitivity: internal}}
  database_tags: {{sensitivity: confidential}}
  protect: {{EMAIL: hash, PHONE_NUMBER: mask}}
  hmac_key: {key_ref}
"""


@pytest.mark.parametrize("table_format, key_ref", [("parquet", "env:TEST_HMAC_KEY"),
                                                   ("delta", "secretsmanager:lakeward/hmac")])
def test_pii_columns_are_hashed_or_masked_in_the_table_and_the_key_never_shows(workdir, glue, aws_env, monkeypatch,
                                                                              table_format, key_ref):
    import hmac

    import boto3

    from tests.helpers import query

    secret = "s3cr3t-k3y-never-logged"
    if key_ref.startswith("env:"):
        monkeypatch.setenv("TEST_HMAC_KEY", secret)
    else:
        boto3.client("secretsmanager", endpoint_url=aws_env, region_name="us-east-1").create_secret(
            Name="lakeward/hmac", SecretString=secret)
    write_jsonl(workdir / "raw/a.jsonl", PEOPLE)
    spec = workdir / "lakeward.yaml"
    spec.write_text(PROTECT_SPEC.format(raw=workdir / "raw", table_format=table_format, key_ref=key_ref))
    result = cli("ingest", "--spec", str(spec), "--lake", str(workdir / "lake"), "--report", str(workdir / "r.json"))
    assert result.exit_code == 0, result.output
    report = (workdir / "r.json").read_text()
    assert json.loads(report)["protected"] == {"email": "hash", "phone": "mask"}
    assert secret not in report and secret not in result.output
    rows = query("SELECT order_id, email, phone FROM db.protected ORDER BY order_id")
    expected = [(p["email"], p["Phone"]) for p in PEOPLE]
    assert [r["email"] for r in rows] == [hmac.new(secret.encode(), e.encode(), "sha256").hexdigest() for e, _ in expected]
    assert [r["phone"] for r in rows] == ["*" * (len(p) - 4) + p[-4:] for _, p in expected]


def test_a_missing_hmac_key_is_a_clear_error_before_anything_is_written(workdir, glue):
    write_jsonl(workdir / "raw/a.jsonl", PEOPLE)
    spec = workdir / "lakeward.yaml"
    spec.write_text(PROTECT_SPEC.format(raw=workdir / "raw", table_format="parquet", key_ref="env:NOT_SET_ANYWHERE"))
    result = cli("ingest", "--spec", str(spec), "--lake", str(workdir / "lake"))
    assert result.exit_code == 2
    assert "governance.hmac_key: environment variable NOT_SET_ANYWHERE is not set" in result.output
    assert not list((workdir / "lake").rglob("*.parquet"))
