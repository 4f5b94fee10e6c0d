"""``lakeward schema show|history|diff``: a table's schema, its versions, and a dry run of a source."""
from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from catalog.definitions import table_from_glue
from catalog.history import column_diff
from catalog.names import recorded_raw_names
from catalog.types import to_hive
from lakeward.errors import CatalogError

console = Console()


@click.group()
def schema() -> None:
    """Inspect a table's schema and dry-run a source against it."""


def _load(aws, table: str):
    from catalog.glue import GlueCatalog
    from lakeward.ingest.request import parse_table_name

    database, name = parse_table_name(table)
    glue = GlueCatalog(aws.client("glue"))
    found = glue.load_table(database, name)
    if found is None:
        raise CatalogError(f"table {database}.{name} is not in the Glue Data Catalog")
    return glue, found, database, name


@schema.command()
@click.argument("table")
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def show(table: str, output: str) -> None:
    """Print the current schema of DB.TABLE as the Glue Data Catalog holds it."""
    from lakeward.cli.common import _clear_errors
    from lakeward.runtime.aws import aws_context
    from lakeward.runtime.settings import Settings

    with _clear_errors(), aws_context(Settings.load()) as aws:
        _, found, _, _ = _load(aws, table)
    definition = found.definition
    rows = [{"name": c.name, "type": to_hive(c.type), "partition_key": c in definition.partition_keys,
             "raw_names": recorded_raw_names(c.parameters), "first_seen": c.parameters.get("lakeward.first_seen"),
             "comment": c.comment} for c in (*definition.columns, *definition.partition_keys)]
    if output == "json":
        click.echo(json.dumps({"table": definition.qualified_name, "format": definition.format,
                               "location": definition.location, "version": found.version_id,
                               "parameters": definition.parameters, "columns": rows}, indent=1))
        return
    console.print(f"[bold]{definition.qualified_name}[/] ({definition.format}) at {definition.location}, "
                  f"version {found.version_id}, evolution {definition.parameters.get('lakeward.evolution', 'evolve')}, "
                  f"partitioned by {definition.parameters.get('lakeward.partition_spec') or 'nothing'}")
    view = Table("column", "type", "raw names", "first seen", box=None)
    for row in rows:
        view.add_row(row["name"] + (" (partition)" if row["partition_key"] else ""), row["type"],
                     ", ".join(row["raw_names"]), row["first_seen"] or "")
    console.print(view)


@schema.command()
@click.argument("table")
def history(table: str) -> None:
    """Print every stored version of DB.TABLE with what changed from the one before."""
    from lakeward.cli.common import _clear_errors
    from lakeward.runtime.aws import aws_context
    from lakeward.runtime.settings import Settings

    with _clear_errors(), aws_context(Settings.load()) as aws:
        glue, _, database, name = _load(aws, table)
        versions = glue.table_versions(database, name)
    previous = None
    for version_id, when, raw in versions:
        definition = table_from_glue(database, raw).definition
        columns = (*definition.columns, *definition.partition_keys)
        changes = column_diff(previous, columns) if previous is not None else [f"created with {len(columns)} columns"]
        console.print(f"[bold]version {version_id}[/] {when or ''}")
        for change in changes or ["(no column changes)"]:
            console.print(f"  {change}", highlight=False)
        previous = columns


@schema.command()
@click.argument("source")
@click.option("--table", required=True, help="Target table as DB.TABLE.")
@click.option("--format", "table_format", type=click.Choice(["parquet", "delta"]))
@click.option("--partition-by")
@click.option("--evolution", type=click.Choice(["evolve", "freeze", "rescue"]))
@click.option("--lake", help="Lake root where a new table would be created [default: $LAKEWARD_LAKE, else ./lake].")
def diff(source: str, table: str, table_format: str | None, partition_by: str | None, evolution: str | None,
         lake: str | None) -> None:
    """Dry-run SOURCE against DB.TABLE: print what an ingest would change, without writing anything."""
    from lakeward.cli.common import _clear_errors
    from lakeward.ingest.files import preview_ingest
    from lakeward.ingest.request import IngestRequest, Origin
    from lakeward.runtime.aws import aws_context
    from lakeward.runtime.settings import Settings
    from lakeward.runtime.spark import spark_session

    with _clear_errors(), aws_context(settings := Settings.load()) as aws:
        request = IngestRequest(table, source, table_format, partition_by, lake or settings.lake,  # type: ignore[arg-type]
                                evolution, origin=Origin("cli"))  # type: ignore[arg-type]
        preview = preview_ingest(spark_session(settings, aws), aws, request, settings)
    console.print(f"[bold]{preview.table}[/] ({preview.format}, {'exists' if preview.exists else 'would be created'}): "
                  f"{len(preview.files)} new or changed file(s), {preview.skipped} already ingested")
    for f in preview.files:
        if f.problem:
            console.print(f"  [yellow]unreadable:[/] {f.name}: {f.problem}")
    plan = preview.plan
    if plan is None:
        console.print("nothing to read")
        return
    console.print(f"evolution mode: {preview.mode}")
    for change in plan.changes:
        console.print(f"  [cyan]would change:[/] {change.describe()}", highlight=False)
    for conflict in plan.conflicts:
        console.print(f"  [yellow]conflict:[/] {conflict.column}: table {conflict.table_type}, source "
                      f"{conflict.batch_type} (values that do not fit would be "
                      f"{'rescued' if preview.mode == 'rescue' else 'quarantined'})", highlight=False)
    for column in plan.unknown:
        console.print(f"  [yellow]not in the table:[/] {column} (values would be "
                      f"{'rescued' if preview.mode == 'rescue' else 'quarantined'})", highlight=False)
    if not (plan.changes or plan.conflicts or plan.unknown):
        console.print("  no schema change")
