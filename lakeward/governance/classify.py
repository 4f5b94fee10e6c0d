"""``lakeward classify DB.TABLE``: sample a table's data with Spark, find its PII columns, record them in
the Glue column Parameters (one table version when anything changed, none otherwise)."""
from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession

from catalog.glue import GlueCatalog
from catalog.schema import CatalogTable
from lakeformation.classifier import Detection, Findings
from lakeformation.spec import GovernanceSpec
from lakeward.engines.bookkeeping import spark_path
from lakeward.errors import SpecError
from lakeward.governance.policy import record_classification, tag_columns
from lakeward.governance.sampling import classify_frame
from lakeward.ingest.request import parse_table_name
from lakeward.runtime.aws import AwsContext
from lakeward.runtime.settings import Settings
from lakeward.tables import delta
from lakeward.tables.catalog_sync import sync_catalog


@dataclass
class Classification:
    table: str
    detections: list[Detection]
    changed: bool  # whether Glue was updated (False on a dry run or when nothing new was found)
    doubts: list[Detection] = field(default_factory=list)  # closed until reviewed


def _table_frame(spark: SparkSession, aws: AwsContext, table: CatalogTable) -> DataFrame | None:
    location = table.definition.location
    if table.definition.format == "delta":
        log = delta.open_table(location, aws.storage_options())
        files = log.file_uris() if log is not None else []
        return spark.read.option("mergeSchema", "true").parquet(*map(spark_path, files)) if files else None
    return spark.read.option("mergeSchema", "true").parquet(spark_path(location))


def run_classify(spark: SparkSession, aws: AwsContext, table_name: str, settings: Settings, dry_run: bool = False,
                 governance: GovernanceSpec | None = None) -> Classification:
    database, name = parse_table_name(table_name)
    glue = GlueCatalog(aws.client("glue"))
    current = glue.load_table(database, name)
    if current is None or current.foreign:
        raise SpecError(f"table {database}.{name} is not a lakeward table in the Glue Data Catalog")
    frame = _table_frame(spark, aws, current)
    columns = [c.name for c in (*current.definition.columns, *current.definition.partition_keys)]
    sampled = classify_frame(frame, columns, settings.pii_sample_rows,
                             settings.pii_distinct_values) if frame is not None else Findings()
    definition = record_classification(current.definition, sampled, governance)
    if dry_run:
        return Classification(f"{database}.{name}", sampled.found, False, sampled.doubts)
    changed = sync_catalog(glue, definition, current)
    tag_columns(aws, governance, definition)
    return Classification(f"{database}.{name}", sampled.found, changed, sampled.doubts)
