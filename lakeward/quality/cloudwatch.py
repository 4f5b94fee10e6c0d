"""A batch's rule counts published to CloudWatch as Glue Data Quality publishes them, so an alarm built for
Glue's own evaluations works on lakeward's: namespace ``Glue Data Quality``, the metrics
``glue.data.quality.rules.passed`` and ``glue.data.quality.rules.failed``, one dimension
``EvaluationContext`` (Glue's ``dataQualityEvaluationContext``; lakeward's default is the table, DB.TABLE).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lakeward.errors import LakewardError

NAMESPACE = "Glue Data Quality"
PASSED, FAILED = "glue.data.quality.rules.passed", "glue.data.quality.rules.failed"


class MetricsPublishError(LakewardError):
    """CloudWatch refused the data quality metrics of a batch."""


def rule_counts(outcomes: list[dict[str, Any]]) -> dict[str, int]:
    """Rules passed and failed (an error counts as failed, as in Glue)."""
    passed = sum(1 for o in outcomes if o["outcome"] == "Passed")
    return {PASSED: passed, FAILED: len(outcomes) - passed}


def metric_data(context: str, outcomes: list[dict[str, Any]], at: datetime) -> list[dict[str, Any]]:
    """PutMetricData's ``MetricData`` for one evaluation."""
    dimensions = [{"Name": "EvaluationContext", "Value": context}]
    return [{"MetricName": name, "Dimensions": dimensions, "Timestamp": at, "Value": float(value), "Unit": "Count"}
            for name, value in rule_counts(outcomes).items()]


def publish(cloudwatch: Any, context: str, outcomes: list[dict[str, Any]], at: datetime) -> str:
    """Put the evaluation's counts; what was published, in words. Raises MetricsPublishError naming the
    permission and the context."""
    data = metric_data(context, outcomes, at)
    try:
        cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data)
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        hint = " (the job's role needs cloudwatch:PutMetricData)" if "Denied" in code or "Authoriz" in code else ""
        raise MetricsPublishError(f"CloudWatch refused the data quality metrics of evaluation context {context!r} "
                                  f"in namespace {NAMESPACE!r}: {code} {e.response.get('Error', {}).get('Message', '')}"
                                  f"{hint}") from e
    except BotoCoreError as e:
        raise MetricsPublishError(f"cannot publish the data quality metrics of evaluation context {context!r} "
                                  f"to CloudWatch: {e}") from e
    counts = rule_counts(outcomes)
    return (f"CloudWatch {NAMESPACE}/EvaluationContext={context}: {counts[PASSED]} passed, "
            f"{counts[FAILED]} failed")
