"""Keeping the Glue Data Catalog equal to what a table holds."""
from __future__ import annotations

from catalog.evolution import merge_concurrent
from catalog.glue import GlueCatalog
from catalog.schema import CatalogTable, TableDefinition
from lakeward.errors import ConcurrentModificationError

CATALOG_RETRIES = 5


def sync_catalog(glue: GlueCatalog, table: TableDefinition, current: CatalogTable | None) -> bool:
    """Create or update the Glue table so it equals ``table``; True when Glue changed. A table that is
    already equal gets no new version. The update names the version it was based on; when another
    writer stored a newer one meanwhile, ours is merged onto theirs and tried again. Parquet partitions
    registered earlier get the new columns too, so Athena never sees a partition schema that disagrees."""
    for _ in range(CATALOG_RETRIES):
        if current is None:
            glue.ensure_database(table.database)
            glue.create_table(table)
            return True
        if current.definition == table:
            return False
        try:
            glue.update_table(table, current.version_id)
        except ConcurrentModificationError:
            current = glue.load_table(table.database, table.name)
            if current is not None:
                table = merge_concurrent(current.definition, table)
            continue
        if table.format == "parquet" and table.partition_keys and _types(current.definition) != _types(table):
            glue.update_partition_columns(table)
        return True
    raise ConcurrentModificationError(f"table {table.qualified_name} kept changing under us; gave up after "
                                      f"{CATALOG_RETRIES} attempts. Run the ingest again")


def _types(table: TableDefinition) -> list[tuple[str, object]]:
    return [(c.name, c.type) for c in table.columns]
