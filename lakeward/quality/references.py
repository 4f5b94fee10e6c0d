"""The data sets DQDL rules read besides the batch: catalog tables behind ReferentialIntegrity aliases
(``ReferentialIntegrity "customer_id" "customers.id" = 1.0`` reads the table mapped to ``customers``,
else ``<database>.customers``), each read as it is now (every live file)."""
from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from catalog.glue import GlueCatalog
from catalog.schema import TableDefinition
from lakeward.errors import SpecError
from lakeward.quality.policy import QualityRules
from lakeward.runtime.aws import AwsContext
from lakeward.runtime.storage import Storage
from lakeward.tables.inventory import table_inventory
from lakeward.tables.table_files import TABLE_FILE_COL, footers, read_table_files


def table_definition(aws: AwsContext, table: str, why: str) -> TableDefinition:
    database, _, name = table.partition(".")
    found = GlueCatalog(aws.client("glue")).load_table(database, name)
    if found is None:
        raise SpecError(f"{why}: table {database}.{name} is not in the Glue Data Catalog")
    return found.definition


def table_frame(spark: SparkSession, aws: AwsContext, definition: TableDefinition) -> DataFrame:
    """A registered table's rows as they are now (every live file; an empty frame for an empty table)."""
    storage = Storage.for_aws(aws)
    uris = [uri for part in table_inventory(aws, storage, definition) for uri, _ in part.files]
    columns = [c.name for c in (*definition.columns, *definition.partition_keys)]
    if not uris:
        return spark.createDataFrame([], ", ".join(f"`{c}` string" for c in columns) or "empty string")
    return read_table_files(spark, definition, uris, footers(storage, uris) if definition.format == "parquet"
                            else None).drop(TABLE_FILE_COL)


def reference_frames(spark: SparkSession, aws: AwsContext, rules: QualityRules, database: str) -> dict[str, DataFrame]:
    """Each ReferentialIntegrity alias's table as a frame; a table that is not registered is an error naming
    the alias and the rule's setting."""
    return {alias: table_frame(spark, aws, table_definition(aws, table, f"ReferentialIntegrity alias {alias!r} "
                                                                          "(quality.references maps aliases)"))
            for alias, table in rules.reference_tables(database).items()}
