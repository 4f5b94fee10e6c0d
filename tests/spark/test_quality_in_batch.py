"""DQDL rules of a table checked inside every batch: quarantine, fail and warn, from the spec or --dq-rules."""
import json

import pytest

from tests.helpers import cli, quarantined, query

pytestmark = [pytest.mark.spark, pytest.mark.aws]

RULES = '''Rules = [
    IsComplete "order_id" labels=["action"="quarantine"],
    ColumnValues "status" in ["NEW", "PAID"] labels=["action"="quarantine"],
    Sum "amount" < 1000 labels=["action"="fail"],
    Mean "amount" < 10
]'''


def write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_rules_quarantine_rows_fail_batches_and_warn(workdir, glue):
    lake = workdir / "lake"
    (workdir / "orders.dqdl").write_text(RULES)
    spec = workdir / "lakeward.yaml"
    spec.write_text(f"lake: {lake}\ntables:\n  db.orders:\n    source: {workdir / 'raw'}\n"
                    "    quality: {rules_file: orders.dqdl, default_action: warn, cloudwatch: true}\n")
    write(workdir / "raw/a.json", [{"order_id": "o1", "status": "NEW", "amount": 5}, {"order_id": None, "status": "NEW", "amount": 6},
                                   {"order_id": "o3", "status": "LOST", "amount": 7}, {"order_id": "o4", "status": "PAID", "amount": 30}])
    with open(workdir / "raw/a.json", "a") as f:
        f.write('{"order_id": "o9", "status": \n')  # malformed: quarantined before the rules, which never see it
    result = cli("ingest", "--spec", str(spec), "--report", str(workdir / "r.json"))
    assert result.exit_code == 0, result.output
    report = json.loads((workdir / "r.json").read_text())
    assert (report["rows_read"], report["rows_written"], report["rows_quarantined"]) == (5, 2, 3)
    outcomes = {q["rule"].split(" labels")[0]: (q["outcome"], q["action"]) for q in report["quality"]}
    assert outcomes == {'IsComplete "order_id"': ("Failed", "quarantine"),
                        'ColumnValues "status" in ["NEW", "PAID"]': ("Failed", "quarantine"),
                        'Sum "amount" < 1000': ("Passed", "fail"), 'Mean "amount" < 10': ("Failed", "warn")}
    assert report["quality_metrics"] == {"glue.data.quality.rules.passed": 1, "glue.data.quality.rules.failed": 3}
    assert published("db.orders") == report["quality_metrics"]  # in CloudWatch, as Glue Data Quality puts them
    reasons = sorted(r["reason"] for r in quarantined(lake, "db", "orders"))
    assert reasons[:2] == ['data quality: ColumnValues "status" in ["NEW", "PAID"]', 'data quality: IsComplete "order_id"']
    assert len(reasons) == 3 and reasons[2].startswith("malformed")
    assert next(q for q in report["quality"] if q["rule"].startswith("IsComplete"))["metrics"] == {
        "Column.order_id.Completeness": 0.75}  # over the 4 rows that parsed
    assert query("SELECT order_id FROM db.orders ORDER BY order_id") == [{"order_id": "o1"}, {"order_id": "o4"}]
    versions = len(glue.get_table_versions(DatabaseName="db", TableName="orders")["TableVersions"])

    write(workdir / "raw/b.json", [{"order_id": "o5", "status": "NEW", "amount": 999, "extra": "x"},
                                   {"order_id": "o6", "status": "NEW", "amount": 2}])
    failed = cli("ingest", "--spec", str(spec))
    assert failed.exit_code == 2 and 'rule Sum "amount" < 1000' in failed.output and "not committed" in failed.output
    assert query("SELECT count(*) AS n FROM db.orders") == [{"n": 2}]  # nothing of the batch, not even its column
    assert len(glue.get_table_versions(DatabaseName="db", TableName="orders")["TableVersions"]) == versions
    assert published("db.orders") == {"glue.data.quality.rules.passed": 1 + 2,  # the refused batch's too
                                      "glue.data.quality.rules.failed": 3 + 2}


def published(context: str) -> dict[str, float]:
    """The rule counts CloudWatch holds for an evaluation context, summed over the last minutes."""
    from datetime import datetime, timedelta, timezone

    import boto3

    cloudwatch, now = boto3.client("cloudwatch"), datetime.now(timezone.utc)
    return {name: sum(p["Sum"] for p in cloudwatch.get_metric_statistics(
        Namespace="Glue Data Quality", MetricName=name, Dimensions=[{"Name": "EvaluationContext", "Value": context}],
        StartTime=now - timedelta(minutes=10), EndTime=now + timedelta(minutes=1), Period=60,
        Statistics=["Sum"])["Datapoints"]) for name in ("glue.data.quality.rules.passed", "glue.data.quality.rules.failed")}


def test_rules_that_cannot_be_evaluated_are_refused_before_anything_runs(workdir, glue):
    spec = workdir / "lakeward.yaml"
    spec.write_text(f"tables:\n  db.t:\n    source: {workdir}\n    quality:\n"
                    "      rules: 'Rules = [ RowCount > median(last(10)) ]'\n")
    result = cli("ingest", "--spec", str(spec))
    assert result.exit_code == 2 and "lakeward evaluates the dynamic functions" in result.output
    assert "tables['db.t'].quality" in result.output
    (workdir / "bad.dqdl").write_text('Rules = [ RowCount > 0 labels=["action"="quarantine"] ]')
    result = cli("ingest", str(workdir), "--table", "db.t", "--dq-rules", str(workdir / "bad.dqdl"))
    assert result.exit_code == 2 and "cannot quarantine rows; use fail or warn" in result.output


def test_the_glue_job_takes_a_ruleset_inline(workdir, glue):
    from glue_jobs.ingest import main

    write(workdir / "raw/a.json", [{"id": 1}, {"id": None}])
    status = main(["ingest.py", "--JOB_NAME", "local", "--source", str(workdir / "raw"), "--table", "db.job",
                   "--lake", str(workdir / "lake"), "--dq_ruleset", 'Rules = [ IsComplete "id" ]',
                   "--dq_default_action", "quarantine", "--dq_cloudwatch", "true", "--report", str(workdir / "r.json")])
    assert status == 0
    report = json.loads((workdir / "r.json").read_text())
    assert (report["rows_written"], report["rows_quarantined"]) == (1, 1)
    assert report["quality_published"] == "CloudWatch Glue Data Quality/EvaluationContext=db.job: 0 passed, 1 failed"
    assert published("db.job") == {"glue.data.quality.rules.passed": 0, "glue.data.quality.rules.failed": 1}


def test_quality_history_is_a_table_and_check_evaluates_a_table_as_it_is(workdir, glue):
    lake = workdir / "lake"
    (workdir / "rules.dqdl").write_text('Rules = [ IsComplete "id" labels=["action"="quarantine"], RowCount > 0 ]')
    write(workdir / "raw/a.json", [{"id": 1, "v": "a"}, {"id": None, "v": "b"}, {"id": 3, "v": "c"}])
    first = cli("ingest", str(workdir / "raw"), "--table", "db.t", "--lake", str(lake), "--dq-rules",
                str(workdir / "rules.dqdl"), "--no-govern")
    assert first.exit_code == 0, first.output
    history = query("SELECT rule, outcome, metric, value FROM db.quality_results WHERE table_name = 't' ORDER BY rule")
    assert history == [
        {"rule": 'IsComplete "id" labels=["action"="quarantine"]'.split(" labels")[0], "outcome": "Failed",
         "metric": "Column.id.Completeness", "value": 2 / 3},
        {"rule": "RowCount > 0", "outcome": "Passed", "metric": "Dataset.*.RowCount", "value": 3.0}]  # the batch as read
    shown = cli("quality", "show", "db.t", "--output", "json")
    assert shown.exit_code == 0, shown.output
    assert {r["rule"]: r["outcome"] for r in json.loads(shown.stdout)} == {'IsComplete "id"': "Failed",
                                                                            "RowCount > 0": "Passed"}
    (workdir / "strict.dqdl").write_text('Rules = [ IsComplete "id",\n  ColumnValues "v" in ["a","b"], RowCount = 2 ]')
    checked = cli("quality", "check", "db.t", "--rules", str(workdir / "strict.dqdl"), "--lake", str(lake),
                  "--output", "json")
    assert checked.exit_code == 0, checked.output  # outcomes are the answer, not an error
    # the table holds id 1 and 3 (the NULL was quarantined), v "a" and "c"; rules as the file writes them
    assert [(r["rule"], r["outcome"], r["metric"], r["failing_rows"]) for r in json.loads(checked.stdout)] == [
        ('IsComplete "id"', "passed", 1.0, 0), ('ColumnValues "v" in ["a","b"]', "failed", 0.5, 1),
        ("RowCount = 2", "passed", 2.0, None)]
    (workdir / "bad.dqdl").write_text('Rules = [ IsComplete "id", Completeness "v" > ]')
    refused = cli("quality", "check", "db.t", "--rules", str(workdir / "bad.dqdl"), "--lake", str(lake))
    assert refused.exit_code == 2 and "Completeness" in refused.output, refused.output
    assert query("SELECT count(DISTINCT batch_id) AS n FROM db.quality_results") == [{"n": 2}]


def test_a_dynamic_threshold_compares_a_batch_with_the_tables_own_history(workdir, glue):
    lake = workdir / "lake"
    (workdir / "rules.dqdl").write_text('Rules = [ RowCount > avg(last(3)) * 0.5 labels=["action"="fail"] ]')

    def batch(name, n):
        write(workdir / f"raw/{name}.json", [{"id": i} for i in range(n)])
        return cli("ingest", str(workdir / "raw"), "--table", "db.dyn", "--lake", str(lake), "--dq-rules",
                   str(workdir / "rules.dqdl"), "--no-govern", "--report", str(workdir / f"{name}.json.report"))

    for name, n in (("a", 10), ("b", 12), ("c", 8)):  # 10: no history yet; 12 > 5; 8 > 5.5
        assert batch(name, n).exit_code == 0
    first = json.loads((workdir / "a.json.report").read_text())["quality"][0]
    assert first["outcome"] == "Passed" and "not enough history yet" in first["reason"]
    dropped = batch("d", 4)  # 4 is not > avg(8, 12, 10) * 0.5 = 5: the batch is not committed
    assert dropped.exit_code == 2 and "history: 8, 12, 10" in dropped.output
    assert query("SELECT count(*) AS n FROM db.dyn") == [{"n": 30}]
    # the stopped batch's evaluation is in the history too (every evaluation is recorded)
    assert query("SELECT value FROM db.quality_results WHERE outcome = 'Failed'") == [{"value": 4.0}]


def test_referential_integrity_reads_a_catalog_table_and_quarantines_orphans(workdir, glue):
    lake = workdir / "lake"
    write(workdir / "crm/customers.json", [{"id": "c1", "name": "Ada"}, {"id": "c2", "name": "Bo"}])
    assert cli("ingest", str(workdir / "crm"), "--table", "shop.clients", "--lake", str(lake), "--no-govern").exit_code == 0
    spec = workdir / "lakeward.yaml"
    rules = ('Rules = [ ReferentialIntegrity "customer_id" "customers.id" = 1.0 labels=["action"="quarantine"], '
             'ReferentialIntegrity "customer_id" "clients.id" >= 0.5 ]')
    spec.write_text(f"lake: {lake}\ntables:\n  shop.orders:\n    source: {workdir / 'raw'}\n    quality:\n"
                    f"      rules: '{rules}'\n      references: {{customers: shop.clients}}\n")
    write(workdir / "raw/o.json", [{"order_id": 1, "customer_id": "c1"}, {"order_id": 2, "customer_id": "c9"},
                                   {"order_id": 3, "customer_id": "c2"}, {"order_id": 4, "customer_id": None}])
    result = cli("ingest", "--spec", str(spec), "--no-govern", "--report", str(workdir / "r.json"))
    assert result.exit_code == 0, result.output
    report = json.loads((workdir / "r.json").read_text())
    assert (report["rows_written"], report["rows_quarantined"]) == (2, 2)
    mapped, by_name = report["quality"]
    assert mapped["outcome"] == "Failed" and mapped["metrics"] == {"Column.customers.ReferentialIntegrity": 0.5}
    assert by_name["outcome"] == "Passed" and by_name["metrics"] == {"Column.clients.ReferentialIntegrity": 0.5}
    assert sorted(json.loads(r["raw"])["order_id"] for r in quarantined(lake, "shop", "orders")) == [2, 4]
    assert query("SELECT order_id FROM shop.orders ORDER BY order_id") == [{"order_id": 1}, {"order_id": 3}]
    (workdir / "ri.dqdl").write_text('Rules = [ ReferentialIntegrity "customer_id" "customers.id" = 1.0 ]')
    checked = cli("quality", "check", "shop.orders", "--rules", str(workdir / "ri.dqdl"), "--lake", str(lake),
                  "--reference", "customers=shop.clients", "--output", "json")
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)[0]["outcome"] == "passed"  # the orphans were quarantined, not written
    spec.write_text(spec.read_text().replace("shop.clients", "shop.nobody"))
    write(workdir / "raw/p.json", [{"order_id": 5, "customer_id": "c1"}])
    missing = cli("ingest", "--spec", str(spec), "--no-govern")
    assert missing.exit_code == 2 and "alias 'customers'" in missing.output and "shop.nobody" in missing.output


def test_detect_anomalies_learns_from_past_batches_and_fails_a_row_count_that_drops(workdir, glue):
    lake = workdir / "lake"
    (workdir / "rules.dqdl").write_text('Rules = [ DetectAnomalies "RowCount" labels=["action"="fail"], '
                                        'DetectAnomalies "Completeness" "email" ]')
    for n, size in enumerate([100, 104, 97, 101]):  # the first three are history being learnt
        write(workdir / f"raw/{n}.json", [{"id": i, "email": f"u{i}@x.org" if i % 10 else None} for i in range(size)])
        result = cli("ingest", str(workdir / f"raw/{n}.json"), "--table", "db.users", "--lake", str(lake),
                     "--no-govern", "--dq-rules", str(workdir / "rules.dqdl"), "--report", str(workdir / f"r{n}.json"))
        assert result.exit_code == 0, result.output
        outcome = json.loads((workdir / f"r{n}.json").read_text())["quality"][0]
        assert outcome["outcome"] == "Passed", outcome
        assert ("anomaly detection starts after 3 past evaluations" in (outcome["reason"] or "")) == (n < 3)
    write(workdir / "raw/4.json", [{"id": i, "email": None} for i in range(12)])
    dropped = cli("ingest", str(workdir / "raw/4.json"), "--table", "db.users", "--lake", str(lake), "--no-govern",
                  "--dq-rules", str(workdir / "rules.dqdl"))
    assert dropped.exit_code == 2, dropped.output
    assert "Dataset.*.RowCount is 12, outside the expected" in dropped.output and "of the last 4: 101, 97, 104, 100" in dropped.output
    assert query("SELECT count(*) AS n FROM db.users") == [{"n": 402}]
    history = query("SELECT rule, outcome, value FROM db.quality_results WHERE metric = 'Column.email.Completeness' "
                    "ORDER BY evaluated_at DESC LIMIT 1")
    assert history == [{"rule": 'DetectAnomalies "Completeness" "email"', "outcome": "Failed", "value": 0.0}]


def test_rules_observed_in_a_partitioned_write_that_shuffles(workdir, glue, monkeypatch):
    """A batch larger than a file is shuffled by partition before the write; the rules' metrics are taken
    after that shuffle (in the stage that writes), and equal what the rows hold."""
    monkeypatch.setenv("LAKEWARD_TARGET_FILE_MB", "0.001")  # every batch is "large": the shuffle path
    rows = [{"id": i, "region": ("north", "south")[i % 2], "amount": i} for i in range(200)] + [{"id": 3, "region": "x"}]
    write(workdir / "raw/a.json", rows)
    (workdir / "rules.dqdl").write_text('Rules = [ RowCount = 201, Sum "amount" = 19900, IsUnique "id", '
                                        'DistinctValuesCount "region" = 0 where "amount < 0", '
                                        'Completeness "amount" > 0.99 labels=["action"="quarantine"] ]')
    result = cli("ingest", str(workdir / "raw"), "--table", "db.parts", "--lake", str(workdir / "lake"), "--no-govern",
                 "--partition-by", "region", "--dq-rules", str(workdir / "rules.dqdl"), "--report", str(workdir / "r.json"))
    assert result.exit_code == 0, result.output
    report = json.loads((workdir / "r.json").read_text())
    got = {q["rule"].split(" labels")[0]: (q["outcome"], q["metrics"]) for q in report["quality"]}
    assert got['RowCount = 201'] == ("Passed", {"Dataset.*.RowCount": 201.0})
    assert got['Sum "amount" = 19900'] == ("Passed", {"Column.amount.Sum": 19900.0})
    assert got['IsUnique "id"'] == ("Failed", {"Column.id.Uniqueness": 199 / 201})  # id 3 twice
    assert got['DistinctValuesCount "region" = 0 where "amount < 0"'] == (
        "Passed", {"Column.region.DistinctValuesCount": 0.0})  # no row in scope: no key staged
    assert "quality_keys_s" in report["timings"]
    assert (report["rows_written"], report["rows_quarantined"]) == (200, 1)  # the row without an amount


def test_staged_keys_in_a_batch_that_rewrites_a_narrow_partition_and_pii_keys_are_not_staged(workdir, glue):
    """Value-count rules over the keys the writer stages: beside a rewrite of a partition that still
    declares a narrower type (whose carried rows have no keys), with a key of two columns holding NULLs,
    and a malformed record whose id repeats (out of the rules' scope). A key on a column the policy
    protects is counted without staging its values."""
    lake = workdir / "lake"
    write(workdir / "b1/a.json", [{"id": i, "amount": i, "day": f"2024-01-0{1 + i % 2}", "tag": "t"} for i in range(6)])
    assert cli("ingest", str(workdir / "b1"), "--table", "db.k", "--lake", str(lake), "--partition-by", "day",
               "--no-govern").exit_code == 0
    write(workdir / "b2/a.json", [{"id": 6, "amount": 6.5, "day": "2024-01-01", "tag": "t"}])  # 2024-01-02 stays bigint
    assert cli("ingest", str(workdir / "b2"), "--table", "db.k", "--lake", str(lake), "--no-govern").exit_code == 0
    rows = [{"id": 7, "amount": 7.5, "day": "2024-01-02", "tag": None}, {"id": 8, "amount": 8.5, "day": "2024-01-02", "tag": None},
            {"id": 8, "amount": 1.0, "day": "2024-01-02", "tag": "x"}, {"id": None, "amount": 2.0, "day": "2024-01-02", "tag": None}]
    write(workdir / "b3/a.json", rows)
    with open(workdir / "b3/a.json", "a") as f:
        f.write('{"id": 7, "amount": \n')  # malformed: quarantined before the rules
    (workdir / "k.dqdl").write_text('Rules = [ IsUnique "id", Uniqueness "tag" "day" = 0.5, DistinctValuesCount "id" = 2 ]')
    result = cli("ingest", str(workdir / "b3"), "--table", "db.k", "--lake", str(lake), "--no-govern",
                 "--dq-rules", str(workdir / "k.dqdl"), "--report", str(workdir / "r.json"))
    assert result.exit_code == 0, result.output
    report = json.loads((workdir / "r.json").read_text())
    got = {q["rule"]: (q["outcome"], q["metrics"]) for q in report["quality"]}
    # ids 7, 8, 8 (NULL left out): 7 once of 3; (tag, day): (NULL, d2) x3 and (x, d2): 1 once of 4
    assert got['IsUnique "id"'] == ("Failed", {"Column.id.Uniqueness": 1 / 3})
    assert got['Uniqueness "tag" "day" = 0.5'] == ("Failed", {"Multicolumn.tag,day.Uniqueness": 0.25})
    assert got['DistinctValuesCount "id" = 2'] == ("Passed", {"Column.id.DistinctValuesCount": 2.0})
    assert "quality_keys_s" in report["timings"] and report["widening"], report
    assert not list(lake.rglob("_dq_keys"))
    assert query("SELECT count(*) AS n FROM db.k") == [{"n": 11}]

    pii = [{"email": f"user{i}@example.org", "n": i} for i in range(20)] + [{"email": "user3@example.org", "n": 99}]
    write(workdir / "p/a.json", pii)
    (workdir / "p.dqdl").write_text('Rules = [ IsUnique "email" ]')
    (workdir / "p.yaml").write_text(f"lake: {lake}\ntables:\n  db.people:\n    source: {workdir / 'p'}\n"
                                    "    quality: {rules_file: p.dqdl}\ngovernance:\n  ontology: {sensitivity: [pii]}\n"
                                    "  rules: {EMAIL: {sensitivity: pii}}\n  protect: {EMAIL: mask}\n")
    result = cli("ingest", "--spec", str(workdir / "p.yaml"), "--report", str(workdir / "p.json"))
    assert result.exit_code == 0, result.output
    people = json.loads((workdir / "p.json").read_text())
    assert people["pii"] == {"email": "EMAIL"} and people["protected"] == {"email": "mask"}
    assert people["quality"][0]["metrics"] == {"Column.email.Uniqueness": 19 / 21}
    assert "quality_keys_s" not in people["timings"]  # counted over the source: no clear email staged
