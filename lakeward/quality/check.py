"""``lakeward quality check``: a rule set evaluated over a table as it is now (every live file), recorded
in the quality history like a batch's evaluation."""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone
from typing import Any

from pyspark.sql import SparkSession

from catalog.glue import GlueCatalog
from lakeward.errors import SpecError
from lakeward.ingest.request import parse_table_name
from lakeward.quality.evaluate import evaluate
from lakeward.quality.policy import QualityRules
from lakeward.quality.history import history_from_results
from lakeward.quality.results import record_results
from lakeward.runtime.aws import AwsContext
from lakeward.runtime.settings import Settings
from lakeward.runtime.storage import Storage
from lakeward.tables.inventory import table_inventory
from lakeward.tables.table_files import TABLE_FILE_COL, footers, read_table_files


def check_table(spark: SparkSession, aws: AwsContext, settings: Settings, table: str, rules: QualityRules,
                lake: str) -> list[dict[str, Any]]:
    database, name = parse_table_name(table)
    found = GlueCatalog(aws.client("glue")).load_table(database, name)
    if found is None:
        raise SpecError(f"table {database}.{name} is not in the Glue Data Catalog")
    definition = found.definition
    storage = Storage.for_aws(aws)
    uris = [uri for part in table_inventory(aws, storage, definition) for uri, _ in part.files]
    columns = [c.name for c in (*definition.columns, *definition.partition_keys)]
    if not uris:
        frame = spark.createDataFrame([], ", ".join(f"`{c}` string" for c in columns) or "empty string")
    else:
        frame = read_table_files(spark, definition, uris, footers(storage, uris) if definition.format == "parquet"
                                 else None).drop(TABLE_FILE_COL)
    evaluation, _ = evaluate(spark, frame, rules.ruleset, columns=columns,
                             history=history_from_results(aws, f"{database}.{name}"))
    outcomes = [{**asdict(r), "action": rules.action(node)} for node, r in zip(rules.ruleset.rules, evaluation.results)]
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    record_results(spark, aws, settings, f"{database}.{name}", lake, f"check-{stamp}", outcomes)
    return outcomes
