"""Quality history: every rule evaluation recorded in a table in the lake, registered in Glue, so analysts
query it with Athena (``SELECT * FROM sales.quality_results WHERE table_name = 'orders'``).

One table per database, ``<database>.quality_results``, Parquet, partitioned by ``table_name``; a row per
rule and metric: the batch, the rule's text, outcome (Passed / Failed / Error), action, metric name and
value, reason, labels (JSON) and the evaluation time. The first batch creates it through the DataFrame
front door; later ones are appended without a Spark job (lakeward.ingest.rows), through the same lock,
ledger and Glue registration. The batch id is the idempotency key (a rerun records nothing twice).
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa
from pyspark.sql import SparkSession

from catalog.types import parse_hive
from lakeward.engines.arrow_types import to_arrow
from lakeward.ingest.frames import ingest_frame
from lakeward.ingest.request import IngestRequest, parse_table_name
from lakeward.ingest.rows import append_rows
from lakeward.quality.cloudwatch import MetricsPublishError, publish
from lakeward.quality.history import RESULTS_TABLE
from lakeward.runtime.aws import AwsContext
from lakeward.runtime.settings import Settings

FIELDS = (("table_name", "string"), ("batch_id", "string"), ("rule", "string"), ("outcome", "string"),
          ("action", "string"), ("metric", "string"), ("value", "double"), ("reason", "string"), ("labels", "string"),
          ("evaluated_at", "timestamp"))
SCHEMA = ", ".join(f"{name} {kind}" for name, kind in FIELDS)
ARROW_SCHEMA = pa.schema([(name, to_arrow(parse_hive(kind))) for name, kind in FIELDS])


def result_rows(table: str, batch_id: str, outcomes: list[dict[str, Any]], at: datetime) -> list[tuple]:
    rows = []
    for o in outcomes:
        metrics = o.get("metrics") or {None: None}
        for metric, value in metrics.items():
            rows.append((table, batch_id, o["rule"], o["outcome"], o.get("action", "warn"), metric,
                         None if value is None else float(value), o.get("reason"),
                         json.dumps(o.get("labels") or {}, sort_keys=True), at))
    return rows


@contextmanager
def failures_recorded(spark: SparkSession, aws: AwsContext, settings: Settings, request: IngestRequest) -> Iterator[None]:
    """A batch a fail-rule stopped still has its outcomes recorded (then the failure goes on)."""
    from lakeward.quality.in_batch import QualityFailure

    try:
        yield
    except QualityFailure as e:
        if request.quality is None:
            raise
        if e.batch_id and e.outcomes:
            record_results(spark, aws, settings, request.table, request.lake, e.batch_id, e.outcomes)
            try:
                publish_quality(aws, request, e.outcomes)
            except MetricsPublishError as unpublished:
                raise QualityFailure(f"{e}; and {unpublished}", e.batch_id, e.outcomes) from unpublished
        raise


def recorded(spark: SparkSession, aws: AwsContext, settings: Settings, request: IngestRequest,
             run: Callable[[], Any]) -> Any:
    """One batch through ``run`` (which opens the table and lets it go), then its rule outcomes in the quality
    history, after the table's lock is let go; a batch a fail rule stopped is recorded too."""
    with failures_recorded(spark, aws, settings, request):
        report = run()
    record_quality(spark, aws, settings, request, report)
    return report


def record_quality(spark: SparkSession, aws: AwsContext, settings: Settings, request: IngestRequest,
                   report: Any) -> None:
    """A committed batch's rule outcomes into its database's quality_results table."""
    if report.quality and report.batch_id and not report.already_committed:
        started = time.monotonic()
        record_results(spark, aws, settings, request.table, request.lake, report.batch_id, report.quality)
        report.timings["quality_history_s"] = time.monotonic() - started
        try:
            report.quality_published = publish_quality(aws, request, report.quality)
        except MetricsPublishError as e:
            raise MetricsPublishError(f"batch {report.batch_id} of {request.table} was committed, but {e}") from e


def publish_quality(aws: AwsContext, request: IngestRequest, outcomes: list[dict[str, Any]]) -> str | None:
    """The rule counts to CloudWatch when the table's rules ask for it; what was published."""
    rules = request.quality
    if rules is None or not rules.cloudwatch or not outcomes:
        return None
    return publish(aws.client("cloudwatch"), rules.evaluation_context or request.table, outcomes,
                   datetime.now(timezone.utc))


def record_results(spark: SparkSession, aws: AwsContext, settings: Settings, table: str, lake: str,
                   batch_id: str, outcomes: list[dict[str, Any]]) -> None:
    """Append a batch's rule outcomes to ``<database>.quality_results`` (nothing when there are none)."""
    if not outcomes:
        return
    database, name = parse_table_name(table)
    at = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = result_rows(name, batch_id, outcomes, at)
    request = IngestRequest(f"{database}.{RESULTS_TABLE}", format="parquet", partition_by="table_name", lake=lake,
                            govern=False)
    caller, source = f"dq-{name}-{batch_id}"[:100], f"quality:{database}.{name}"
    # the table exists after its first batch: later ones are appended without a Spark job
    arrow = pa.Table.from_pylist([dict(zip((n for n, _ in FIELDS), row)) for row in rows], schema=ARROW_SCHEMA)
    if append_rows(aws, request, settings, arrow, caller, source) is None:
        ingest_frame(spark, aws, request, spark.createDataFrame(rows, SCHEMA), batch_id=caller, settings=settings,
                     source=source)
