"""DQDL rules evaluated over a DataFrame: every metric against a plain-Python reading of the same rows,
the row-level flags per rule, and the NULL rules Glue documents."""
import statistics

import pytest
from pyspark.sql import functions as F

from lakeward.quality.dqdl import parse_ruleset
from lakeward.quality.evaluate import evaluate

pytestmark = pytest.mark.spark

ROWS = [
    {"id": 1, "status": "NEW", "amount": 10.0, "sku": "A1", "email": "a@x.org", "country": "US", "age": 30},
    {"id": 2, "status": "PAID", "amount": 20.0, "sku": "B22", "email": None, "country": "", "age": None},
    {"id": 3, "status": "PAID", "amount": None, "sku": "C333", "email": "c@x.org", "country": " ", "age": 18},
    {"id": 3, "status": "LOST", "amount": 40.0, "sku": None, "email": "d@x.org", "country": "CA", "age": 25},
    {"id": 5, "status": "NEW", "amount": 0.0, "sku": "E5", "email": "e@x.org", "country": None, "age": 70},
]


@pytest.fixture
def frame(spark):
    return spark.createDataFrame(ROWS, "id long, status string, amount double, sku string, email string, "
                                       "country string, age long")


def run(spark, frame, text):
    evaluation, framed = evaluate(spark, frame, parse_ruleset(text))
    failed = framed.select("id", "status", evaluation.failed_rules().alias("f")).collect()
    return evaluation.results, [(r["id"], r["status"], sorted(r["f"])) for r in failed]


def test_metrics_equal_a_plain_reading_of_the_rows(spark, frame):
    results, _ = run(spark, frame, """Rules = [
        RowCount = 5, Completeness "email" > 0.7, Uniqueness "id" = 0.6, UniqueValueRatio "id" = 0.75,
        DistinctValuesCount "status" = 3, Mean "amount" between 17 and 18, Sum "amount" = 70,
        StandardDeviation "amount" > 14, ColumnLength "sku" <= 4, RowCount = 2 where "status = 'PAID'" ]""")
    by_rule = {r.rule.split(" ")[0] + (" where" if "where" in r.rule else ""): r for r in results}
    amounts = [r["amount"] for r in ROWS if r["amount"] is not None]
    assert by_rule["RowCount"].metrics == {"Dataset.*.RowCount": 5.0}
    assert by_rule["Completeness"].metrics == {"Column.email.Completeness": 4 / 5}
    assert by_rule["Uniqueness"].metrics == {"Column.id.Uniqueness": 3 / 5}  # ids 1, 2, 5 occur once
    assert by_rule["UniqueValueRatio"].metrics == {"Column.id.UniqueValueRatio": 3 / 4}
    assert by_rule["Mean"].metrics == {"Column.amount.Mean": statistics.mean(amounts)}
    assert by_rule["StandardDeviation"].metrics["Column.amount.StandardDeviation"] == pytest.approx(
        statistics.pstdev(amounts))  # population, as Glue reports it
    assert by_rule["ColumnLength"].metrics["Column.sku.MaximumLength"] == 4.0
    assert by_rule["ColumnLength"].metrics["Column.sku.MinimumLength"] == 0.0  # NULL counts as length 0
    assert by_rule["RowCount where"].metrics == {"Dataset.*.RowCount": 2.0}
    assert all(r.outcome == "Passed" for r in results), [(r.rule, r.reason) for r in results if r.outcome != "Passed"]


def test_row_level_rules_flag_each_row_and_nulls_follow_glue(spark, frame):
    results, rows = run(spark, frame, """Rules = [
        IsComplete "email",
        IsUnique "id",
        ColumnValues "status" in ["NEW", "PAID"],
        ColumnValues "age" != 18,
        (ColumnValues "age" > 21) or (ColumnValues "age" = NULL),
        ColumnValues "country" in ["US", "CA", EMPTY, WHITESPACES_ONLY],
        ColumnValues "sku" matches "[A-Z][0-9]+" with threshold > 0.7 ]""")
    outcomes = {r.rule: (r.outcome, r.reason) for r in results}
    assert outcomes['IsComplete "email"'][0] == "Failed"
    assert outcomes['ColumnValues "age" != 18'][0] == "Failed"
    assert outcomes['ColumnValues "sku" matches "[A-Z][0-9]+" with threshold > 0.7'] == ("Passed", None)
    assert outcomes['ColumnValues "status" in ["NEW", "PAID"]'] == ("Failed", "80.00% of rows passed")
    failing = {(i, s): f for i, s, f in rows}
    assert failing[(2, "PAID")] == ['IsComplete "email"']  # NULL age passes != and the "or NULL" composite
    assert failing[(3, "PAID")] == ['(ColumnValues "age" > 21) or (ColumnValues "age" = NULL)',
                                    'ColumnValues "age" != 18', 'IsUnique "id"']
    assert failing[(3, "LOST")] == ['ColumnValues "sku" matches "[A-Z][0-9]+" with threshold > 0.7',
                                    'ColumnValues "status" in ["NEW", "PAID"]', 'IsUnique "id"']
    assert failing[(5, "NEW")] == ['ColumnValues "country" in ["US", "CA", EMPTY, WHITESPACES_ONLY]']  # NULL fails
    assert failing[(1, "NEW")] == []


def test_custom_sql_freshness_types_and_references(spark, frame):
    stamped = frame.withColumn("order_ts", F.expr("current_timestamp() - make_interval(0, 0, 0, 0, id, 0, 0)"))
    reference = spark.createDataFrame([("US",), ("CA",)], "code string")
    evaluation, _ = evaluate(spark, stamped, parse_ruleset("""Rules = [
        CustomSql "select count(*) from primary where amount < 0" = 0,
        CustomSql "select id from primary where age >= 21" with threshold > 0.5,
        CustomSql "select id from primary where amount > 5" with threshold > 0.5,
        DataFreshness "order_ts" <= 4 hours,
        ColumnDataType "sku" = "INTEGER" with threshold < 0.1,
        ColumnExists "nope",
        ReferentialIntegrity "country" "reference.{code}" between 0.3 and 0.5,
        ReferentialIntegrity "country" "other.{code}" = 1 ]"""), {"reference": reference})
    outcome = [(r.outcome, r.metrics) for r in evaluation.results]
    assert outcome[0] == ("Passed", {"Dataset.*.CustomSQL": 0.0})
    assert outcome[1][0] == "Passed"  # ids 1, 3, 5 (3 of 5 rows) are returned by the query
    assert outcome[2][0] == "Passed"  # a second row-level query beside the first (ids 1, 2, 3 have amount > 5)
    assert outcome[3][0] == "Failed"  # id 5 is 5 hours old
    assert outcome[4][0] == "Passed"
    assert outcome[5][0] == "Failed"
    assert outcome[6] == ("Passed", {"Column.reference.ReferentialIntegrity": 0.4})
    assert outcome[7][0] == "Error" and "reference dataset 'other' is not given" in evaluation.results[7].reason


def test_where_scopes_uniqueness_and_compliance_as_glue_filters_first(spark):
    frame = spark.createDataFrame([(1, "EU"), (1, "US"), (2, "EU"), (3, "EU"), (4, "EU"), (4, "EU")],
                                  "id long, region string")
    evaluation, _ = evaluate(spark, frame, parse_ruleset(
        'Rules = [ IsUnique "id" where "region = \'US\'", '
        'ColumnValues "id" < 4 where "region = \'EU\'" with threshold > 0.5 ]'))
    assert evaluation.results[0].outcome == "Passed"  # id 1 occurs once among the US rows
    assert evaluation.results[1].metrics == {"Column.id.ColumnValues.Compliance": 3 / 5}  # 3 of the 5 EU rows


def test_keywords_failing_rows_and_anomalies_judged_against_a_history(spark):
    frame = spark.createDataFrame([(1, None), (2, ""), (3, "\t \n"), (4, "x")], "id long, note string")
    past = {'DetectAnomalies "RowCount"': [4.0, 4.0, 4.0], 'DetectAnomalies "Mean" "id"': [10.0, 11.0, 9.0],
            'DetectAnomalies "Sum" "id"': [10.0]}
    evaluation, _ = evaluate(spark, frame, parse_ruleset("""Rules = [
        ColumnValues "note" != EMPTY,
        ColumnValues "note" in [WHITESPACES_ONLY],
        (IsComplete "note") and (ColumnValues "id" < 4),
        DetectAnomalies "RowCount", DetectAnomalies "Mean" "id", DetectAnomalies "Sum" "id" ]"""),
        history=lambda rule, metric, k: past.get(rule, [])[:k])
    results = evaluation.results
    assert [r.failing_rows for r in results[:3]] == [1, 3, 2]  # != passes NULL (Glue); tabs and breaks are blank
    assert [r.outcome for r in results[3:]] == ["Passed", "Failed", "Passed"]
    assert results[4].reason.startswith("Column.id.Mean is 2.5, outside the expected")
    assert "(1 so far): passed" in results[5].reason  # still learning
    assert all(r.failing_rows is None for r in results[3:])


def test_value_counts_from_a_grouping_equal_the_per_row_counts(spark, frame, tmp_path):
    """In a batch, rules about how often values occur are counted per value apart from the row flags: in a
    job of their own (now), or from the keys the writer staged (staged); the metrics and outcomes are the
    same as from per-row counts."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lakeward.quality.evaluate import compile_rules
    from lakeward.runtime.storage import Storage

    text = ('Rules = [ Uniqueness "id" = 0.6, IsUnique "id", IsPrimaryKey "id", UniqueValueRatio "id" = 0.75, '
            'DistinctValuesCount "status" = 3, Uniqueness "id" = 1 where "status = \'NEW\'", '
            'DetectAnomalies "DistinctValuesCount" "status", IsUnique "id" "status", '
            'DistinctValuesCount "status" = 0 where "id > 100" ]')
    per_row, _ = evaluate(spark, frame, parse_ruleset(text))
    expected = [(r.outcome, r.metrics) for r in per_row.results]
    now = compile_rules(spark, frame, parse_ruleset(text), grouped="now")
    grouped = now.decide(now.framed.agg(*now.aggs).collect()[0].asDict())
    assert [(r.outcome, r.metrics) for r in grouped.results] == expected
    assert [r.outcome for r in grouped.results][:6] == ["Passed", "Failed", "Failed", "Passed", "Passed", "Passed"]

    staged = compile_rules(spark, frame, parse_ruleset(text), grouped="staged")
    assert len(staged.staged_keys) == 5  # id, status, id where NEW, (id, status), status where id > 100
    values = staged.framed.agg(*staged.aggs).collect()[0].asDict()
    files = {}
    for column in staged.staged_keys:  # as the writer's tasks stage them: non-NULL keys, two files
        keys = pa.Table.from_pylist([r.asDict(recursive=True) for r in staged.framed.select(column).collect()])
        keys = keys.column(0).drop_null()
        files[column] = []
        for n, part in enumerate((keys.slice(0, 2), keys.slice(2))):
            if not len(part):  # a task with no key in scope stages no file
                continue
            pq.write_table(pa.table({"k": part}), tmp_path / f"part-{column}-{n}.parquet")
            files[column].append(str(tmp_path / f"part-{column}-{n}.parquet"))
    staged.count_staged_keys(spark, files)  # by a Spark job
    assert [(r.outcome, r.metrics) for r in staged.decide(values).results] == expected
    staged.grouped_values.clear()
    rows = {column: sum(pq.read_metadata(f).num_rows for f in fs) for column, fs in files.items()}
    spark.sparkContext.setJobGroup("arrow-keys", "arrow-keys")
    staged.count_staged_keys(spark, files, rows, Storage())  # few: with Arrow, here
    spark.sparkContext.setJobGroup("", "")
    assert not spark.sparkContext.statusTracker().getJobIdsForGroup("arrow-keys")
    assert [(r.outcome, r.metrics) for r in staged.decide(values).results] == expected
