"""Lake Formation governance as code: safe defaults at ingest, column tags from classification,
tag-policy grants applied idempotently with drift and prune, access preview and query --as."""
import json

import pytest

from tests.helpers import cli, ingest
from tests.spark.test_ingest_edges import write_jsonl
from tests.spark.test_pii import PEOPLE

pytestmark = [pytest.mark.spark, pytest.mark.aws]

ANALYST = "arn:aws:iam::123456789012:role/analyst"
STEWARD = "arn:aws:iam::123456789012:role/steward"
SPEC = f"""
governance:
  ontology:
    sensitivity: [public, internal, confidential, pii]
    pii_type: [email, phone_number, usa_ssn, credit_card, bank_account, ip_address, date_of_birth, person_name, address,
               free_text_email, free_text_phone_number, free_text_credit_card]
  rules:
    EMAIL: {{sensitivity: pii, pii_type: email}}
    PHONE_NUMBER: {{sensitivity: pii, pii_type: phone_number}}
    PERSON_NAME: {{sensitivity: pii, pii_type: person_name}}
    USA_SSN: {{sensitivity: pii, pii_type: usa_ssn}}
  not_pii: {{sensitivity: internal}}
  database_tags: {{sensitivity: confidential}}
  overrides:
    db.people.note: {{pii: PERSON_NAME, reason: "notes carry the recipient's name"}}
  grants:
    - principal: {ANALYST}
      tags: {{sensitivity: [public, internal]}}
      permissions: [SELECT, DESCRIBE]
    - principal: {STEWARD}
      tags: {{sensitivity: [public, internal, confidential, pii]}}
      permissions: [SELECT]
"""


def column_tags(lakeformation, table, columns):
    response = lakeformation.get_resource_lf_tags(Resource={"TableWithColumns": {
        "DatabaseName": "db", "Name": table, "ColumnNames": columns}}, ShowAssignedLFTags=True)
    return {c["Name"]: {t["TagKey"]: t["TagValues"] for t in c["LFTags"]} for c in response.get("LFTagsOnColumns", [])}


def test_a_plain_ingest_protects_the_database_first_then_tags_each_classified_column(workdir, lakeformation):
    write_jsonl(workdir / "raw/a.jsonl", PEOPLE)
    report = ingest(workdir / "raw", "db.people", workdir / "lake")
    assert report["tagged_columns"] == 7
    tags = {t["TagKey"]: set(t["TagValues"]) for t in lakeformation.list_lf_tags()["LFTags"]}
    assert tags["sensitivity"] == {"public", "internal", "confidential", "pii"} and "email" in tags["pii_type"]
    database = lakeformation.get_resource_lf_tags(Resource={"Database": {"Name": "db"}})["LFTagOnDatabase"]
    assert database[0]["TagKey"] == "sensitivity" and database[0]["TagValues"] == ["confidential"]
    assigned = column_tags(lakeformation, "people", ["email", "customer", "order_id", "email_opt_in"])
    assert assigned["email"] == {"sensitivity": ["pii"], "pii_type": ["email"]}
    assert assigned["customer"] == {"sensitivity": ["pii"], "pii_type": ["person_name"]}
    assert assigned["order_id"] == {"sensitivity": ["internal"]} == assigned["email_opt_in"]


def test_grants_apply_idempotently_and_the_analyst_never_sees_pii(workdir, lakeformation, glue):
    spec = workdir / "lakeward.yaml"
    spec.write_text(SPEC)
    write_jsonl(workdir / "raw/a.jsonl", PEOPLE)
    assert cli("ingest", str(workdir / "raw"), "--table", "db.people", "--spec", str(spec)).exit_code == 2  # no tables
    ingest(workdir / "raw", "db.people", workdir / "lake")  # default governance at ingest
    write_jsonl(workdir / "raw2/b.jsonl", [{"sku": "SKU-1", "price": 3}])
    ingest(workdir / "raw2", "db.products", workdir / "lake", "--no-govern")  # never classified

    plan = cli("govern", "plan", "--spec", str(spec))
    assert plan.exit_code == 0, plan.output
    assert f"+ grant {ANALYST}: DESCRIBE, SELECT on tables where sensitivity IN (internal, public)" in plan.output
    assert "+ tag db.people columns note: pii_type=person_name, sensitivity=pii" in plan.output  # the override
    assert not lakeformation.list_permissions()["PrincipalResourcePermissions"]  # plan changed nothing
    assert cli("govern", "apply", "--spec", str(spec)).exit_code == 0
    again = cli("govern", "plan", "--spec", str(spec))
    assert "0 change(s), 0 drift item(s)" in again.output, again.output

    preview = json.loads(cli("access", "--principal", ANALYST, "--output", "json").output)
    by_table = {t["table"]: t for t in preview}
    assert set(by_table["db.people"]["readable"]) == {"order_id", "email_opt_in", "tracking"}
    assert by_table["db.products"]["readable"] == []  # unclassified: inherits sensitivity=confidential
    pii_columns = {(t["Name"], c["Name"]) for t in glue.get_tables(DatabaseName="db")["TableList"]
                   for c in t["StorageDescriptor"]["Columns"] if "pii" in c.get("Parameters", {})}
    assert pii_columns and not any((t.split(".")[1], c) in pii_columns for t, v in by_table.items()
                                   for c in v["readable"])
    steward = json.loads(cli("access", "--principal", STEWARD, "--output", "json").output)
    assert {t["table"]: len(t["hidden"]) for t in steward} == {"db.people": 0, "db.products": 0}

    denied = cli("query", "--as", ANALYST, "SELECT order_id, email FROM db.people")
    assert denied.exit_code == 2 and "cannot read column email of db.people" in denied.output
    nested = cli("query", "--as", ANALYST, "SELECT customer.full_name FROM db.people")
    assert nested.exit_code == 2 and "cannot read column customer" in nested.output
    star = cli("query", "--as", ANALYST, "SELECT * FROM db.people ORDER BY order_id", "--output", "json")
    assert star.exit_code == 0, star.output
    assert set(json.loads(star.stdout)[0]) == {"order_id", "email_opt_in", "tracking"}
    hidden_table = cli("query", "--as", ANALYST, "SELECT sku FROM db.products")
    assert hidden_table.exit_code == 2 and "cannot read table db.products" in hidden_table.output
    assert cli("query", "--as", STEWARD, "SELECT email FROM db.people").exit_code == 0

    def as_analyst(sql: str) -> list[dict]:
        result = cli("query", "--as", ANALYST, sql, "--output", "json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    # Metadata shows a principal only what it can read, as Athena does under Lake Formation.
    assert as_analyst("SHOW TABLES IN db") == [{"tab_name": "people"}]
    assert {r["field"] for r in as_analyst("SHOW COLUMNS IN db.people")} == {"order_id", "email_opt_in", "tracking"}
    assert {r["column_name"] for r in as_analyst("SELECT column_name FROM information_schema.columns "
                                                 "WHERE table_schema = 'db'")} == {"order_id", "email_opt_in",
                                                                                   "tracking"}
    described = cli("query", "--as", ANALYST, "DESCRIBE db.products")
    assert described.exit_code == 2 and "cannot read table db.products" in described.output


def test_drift_is_reported_and_removed_only_with_prune(workdir, lakeformation):
    spec = workdir / "lakeward.yaml"
    spec.write_text(SPEC)
    write_jsonl(workdir / "raw/a.jsonl", PEOPLE)
    ingest(workdir / "raw", "db.people", workdir / "lake")
    assert cli("govern", "apply", "--spec", str(spec)).exit_code == 0
    intruder = "arn:aws:iam::123456789012:role/intruder"
    lakeformation.grant_permissions(
        Principal={"DataLakePrincipalIdentifier": intruder}, Permissions=["SELECT"],
        Resource={"LFTagPolicy": {"ResourceType": "TABLE", "Expression": [{"TagKey": "sensitivity", "TagValues": ["pii"]}]}})
    lakeformation.update_lf_tag(TagKey="sensitivity", TagValuesToAdd=["secret"])
    plan = cli("govern", "plan", "--spec", str(spec)).output
    assert f"- drift: revoke {intruder}: SELECT on tables where sensitivity IN (pii)" in plan
    assert "- drift: LF-tag sensitivity values not in the ontology: secret" in plan
    assert "2 drift item(s)" in plan
    kept = cli("govern", "apply", "--spec", str(spec))
    assert "2 drift item(s) left" in kept.output
    assert any(p["Principal"]["DataLakePrincipalIdentifier"] == intruder
               for p in lakeformation.list_permissions()["PrincipalResourcePermissions"])
    assert cli("govern", "apply", "--spec", str(spec), "--prune").exit_code == 0
    assert not any(p["Principal"]["DataLakePrincipalIdentifier"] == intruder
                   for p in lakeformation.list_permissions()["PrincipalResourcePermissions"])
    assert "0 change(s), 0 drift item(s)" in cli("govern", "plan", "--spec", str(spec)).output


def test_late_columns_are_sampled_partitions_readable_and_the_query_cannot_reach_around_the_views(
        workdir, lakeformation, monkeypatch):
    spec = workdir / "lakeward.yaml"
    spec.write_text(SPEC)
    monkeypatch.setenv("LAKEWARD_PII_SAMPLE_ROWS", "2")  # contact_email is set only past the sample
    rows = [{"id": i, "country": "DE" if i % 2 else "FR", "contact_email": None} for i in range(4)]
    rows.append({"id": 9, "country": "DE", "contact_email": "late@example.com"})
    write_jsonl(workdir / "raw/a.jsonl", rows)
    report = ingest(workdir / "raw", "db.sales", workdir / "lake", "--partition-by", "country")
    assert report["pii"] == {"contact_email": "EMAIL"}
    assert cli("govern", "apply", "--spec", str(spec)).exit_code == 0
    ok = cli("query", "--as", ANALYST, "SELECT country, count(*) AS n FROM db.sales GROUP BY country ORDER BY 1",
             "--output", "json")
    assert ok.exit_code == 0 and json.loads(ok.stdout) == [{"country": "DE", "n": 3}, {"country": "FR", "n": 2}]
    files = cli("query", "--as", ANALYST, f"SELECT * FROM read_parquet('{workdir}/lake/db/sales/**/*.parquet')")
    assert files.exit_code == 2, files.output
    internal = cli("query", "--as", ANALYST, "SELECT * FROM __lakeward_0")
    assert internal.exit_code == 2 and "is not a table of the catalog" in internal.output


def test_labelled_phones_free_text_and_doubtful_columns_are_never_left_open(workdir, lakeformation, glue):
    notes = [f"Customer asked about order {1000 + i}, wants a refund" for i in range(8)] + [
        "Please reply to ana@example.com about it", "Write to bo.smith@mail.example.org instead"]
    reach = ["+1 (415) 555-2671", "+49 30 901820"] + [f"ext {i}" for i in range(8)]
    rows = [{"order_id": f"ORD-{i}", "phone": phone, "notes": notes[i], "reach": reach[i]} for i, phone in enumerate(
        ["tel: +1 815 707 2064", "call 0171 555 0199", "Phone: +44 20 7946 0958", "mobile +49 89 1234567",
         "tel:+33 1 42 68 53 00"] * 2)]
    write_jsonl(workdir / "raw/a.jsonl", rows)
    report = ingest(workdir / "raw", "db.contacts", workdir / "lake")
    assert report["pii"] == {"phone": "PHONE_NUMBER", "notes": "FREE_TEXT:EMAIL"}
    assert list(report["pii_doubts"]) == ["reach"] and "PHONE_NUMBER" in report["pii_doubts"]["reach"]
    assigned = column_tags(lakeformation, "contacts", ["phone", "notes", "reach", "order_id"])
    assert assigned["phone"] == {"sensitivity": ["pii"], "pii_type": ["phone_number"]}
    assert assigned["notes"] == {"sensitivity": ["pii"], "pii_type": ["free_text_email"]}
    assert assigned["reach"] == {"sensitivity": ["confidential"]}  # closed until reviewed, not internal
    assert assigned["order_id"] == {"sensitivity": ["internal"]}
    plan = cli("govern", "plan")
    assert plan.exit_code == 0 and "review db.contacts.reach: PHONE_NUMBER" in plan.output
