"""``lakeward quality check``: a rule set evaluated over a table as it is now (every live file), recorded
in the quality history like a batch's evaluation."""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone
from typing import Any

from pyspark.sql import SparkSession

from lakeward.ingest.request import parse_table_name
from lakeward.quality.evaluate import evaluate
from lakeward.quality.policy import QualityRules
from lakeward.quality.history import history_from_results
from lakeward.quality.references import reference_frames, table_definition, table_frame
from lakeward.quality.results import record_results
from lakeward.runtime.aws import AwsContext
from lakeward.runtime.settings import Settings


def check_table(spark: SparkSession, aws: AwsContext, settings: Settings, table: str, rules: QualityRules,
                lake: str) -> list[dict[str, Any]]:
    database, name = parse_table_name(table)
    definition = table_definition(aws, f"{database}.{name}", "quality check")
    columns = [c.name for c in (*definition.columns, *definition.partition_keys)]
    frame = table_frame(spark, aws, definition)
    evaluation, _ = evaluate(spark, frame, rules.ruleset, reference_frames(spark, aws, rules, database), columns,
                             history_from_results(aws, f"{database}.{name}"))
    outcomes = [{**asdict(r), "action": rules.action(node), "source": node.source}
                for node, r in zip(rules.ruleset.rules, evaluation.results)]
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    record_results(spark, aws, settings, f"{database}.{name}", lake, f"check-{stamp}", outcomes)
    return outcomes
