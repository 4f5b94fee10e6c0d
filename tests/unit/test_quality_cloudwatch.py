"""Rule counts published to CloudWatch (the moto server) as Glue Data Quality publishes them, read back
with CloudWatch's own API; refusals name the context and the permission."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from lakeward.errors import SpecError
from lakeward.quality.cloudwatch import FAILED, NAMESPACE, PASSED, MetricsPublishError, publish
from lakeward.quality.policy import QualityRules
from lakeward.ingest.request import IngestRequest
from lakeward.spec import job_flag, load_spec, requests, with_rules

pytestmark = pytest.mark.aws

OUTCOMES = [{"rule": "RowCount > 0", "outcome": "Passed"}, {"rule": 'IsComplete "id"', "outcome": "Failed"},
            {"rule": 'IsUnique "id"', "outcome": "Passed"}, {"rule": 'ColumnExists "x"', "outcome": "Error"}]


def _sum(cloudwatch, name: str, context: str, at: datetime) -> list[float]:
    points = cloudwatch.get_metric_statistics(
        Namespace=NAMESPACE, MetricName=name, Dimensions=[{"Name": "EvaluationContext", "Value": context}],
        StartTime=at - timedelta(minutes=5), EndTime=at + timedelta(minutes=5), Period=60, Statistics=["Sum"])
    return [p["Sum"] for p in points["Datapoints"]]


def test_counts_land_under_glue_data_quality_names(aws_env):
    cloudwatch = boto3.client("cloudwatch")
    at = datetime.now(timezone.utc)
    said = publish(cloudwatch, "sales.orders", OUTCOMES, at)
    assert said == "CloudWatch Glue Data Quality/EvaluationContext=sales.orders: 2 passed, 2 failed"
    assert _sum(cloudwatch, PASSED, "sales.orders", at) == [2.0]
    assert _sum(cloudwatch, FAILED, "sales.orders", at) == [2.0]  # an error counts as failed, as in Glue
    listed = cloudwatch.list_metrics(Namespace=NAMESPACE)["Metrics"]
    assert {m["MetricName"] for m in listed} == {PASSED, FAILED}
    assert all(m["Dimensions"] == [{"Name": "EvaluationContext", "Value": "sales.orders"}] for m in listed)


def test_a_refusal_names_the_context_and_the_permission():
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(cloudwatch) as stub:
        stub.add_client_error("put_metric_data", "AccessDenied", "not authorized to perform cloudwatch:PutMetricData")
        with pytest.raises(MetricsPublishError, match=r"'sales.orders'.*AccessDenied.*needs cloudwatch:PutMetricData"):
            publish(cloudwatch, "sales.orders", OUTCOMES, datetime.now(timezone.utc))
    closed = boto3.client("cloudwatch", endpoint_url="http://127.0.0.1:9", region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="x",
                          config=Config(retries={"max_attempts": 1}, connect_timeout=1))
    with pytest.raises(MetricsPublishError, match="cannot publish the data quality metrics of evaluation context 'o'"):
        publish(closed, "o", OUTCOMES, datetime.now(timezone.utc))


def test_publishing_is_declared_with_the_rules():
    spec = load_spec("""
tables:
  sales.orders:
    source: raw/
    quality: {rules: 'Rules = [ RowCount > 0 ]', cloudwatch: true, evaluation_context: orders-hourly}
  sales.refunds:
    source: raw/
    quality: {rules: 'Rules = [ RowCount > 0 ]'}
""", "lakeward.yaml")
    chosen = {r.table: r.quality for r in requests(spec, None, None, "lake", "cli", frozenset())}
    assert (chosen["sales.orders"].cloudwatch, chosen["sales.orders"].evaluation_context) == (True, "orders-hourly")
    assert not chosen["sales.refunds"].cloudwatch
    # other rules from the command line keep the spec's publishing; --dq-cloudwatch turns it on
    swapped = with_rules(IngestRequest("sales.orders", "raw/", quality=chosen["sales.orders"]), None,
                         "Rules = [ RowCount > 5 ]", None)
    assert swapped.quality.cloudwatch and swapped.quality.evaluation_context == "orders-hourly"
    assert "RowCount > 5" in swapped.quality.text
    turned_on = with_rules(IngestRequest("sales.refunds", "raw/", quality=chosen["sales.refunds"]), None, None, None,
                           cloudwatch=True)
    assert turned_on.quality.cloudwatch and turned_on.quality.text == chosen["sales.refunds"].text
    with pytest.raises(SpecError, match="--dq_cloudwatch: table sales.none has no DQDL rules.*give --dq_ruleset"):
        with_rules(IngestRequest("sales.none", "raw/"), None, None, None,
                   ("--dq_ruleset", "--dq_default_action", "--dq_cloudwatch"), cloudwatch=True)
    with pytest.raises(SpecError, match="evaluation_context"):
        QualityRules.parse("Rules = [ RowCount > 0 ]", evaluation_context="orders")  # without cloudwatch
    assert (job_flag("", "--dq_cloudwatch"), job_flag("TRUE", "--dq_cloudwatch")) == (False, True)
    with pytest.raises(SpecError, match="--dq_cloudwatch 'yes': expected true or false"):
        job_flag("yes", "--dq_cloudwatch")
