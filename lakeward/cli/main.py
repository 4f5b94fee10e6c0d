"""The ``lakeward`` command line: ingest, query, demo."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from lakeward.cli.common import _clear_errors, console, err_console


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Governed ingestion for AWS data lakes.

    Without AWS settings in the environment, commands use the embedded AWS emulator (state kept in
    ./.lakeward, or $LAKEWARD_HOME); with AWS_ENDPOINT_URL or credentials set, they use that endpoint.
    """


@main.command()
@click.argument("source", required=False)
@click.option("--table", help="Target table as DB.TABLE (created when missing); with --spec, only this table.")
@click.option("--spec", "spec_path", type=click.Path(dir_okay=False),
              help="Table spec (YAML): source, format, partitioning, evolution and hints per table.")
@click.option("--format", "table_format", type=click.Choice(["parquet", "delta"]),
              help="Table format of a new table (default parquet); an existing table keeps its own.")
@click.option("--partition-by", help="COL[,COL...] or NAME=TRANSFORM(COL); transforms: date, year, month, day, hour.")
@click.option("--lake", help="Lake root (folder or s3://bucket/prefix) where new tables are created "
                             "[default: the spec's, else $LAKEWARD_LAKE, else ./lake].")
@click.option("--evolution", type=click.Choice(["evolve", "freeze", "rescue"]),
              help="Schema evolution mode, kept with the table (default: the table's mode, else evolve).")
@click.option("--hint", "hints", multiple=True, metavar="COL=TYPE",
              help="Schema hint: the column gets this Athena type instead of the inferred one (repeatable).")
@click.option("--mode", type=click.Choice(["append", "overwrite", "overwrite-partitions", "merge"]),
              help="How the batch joins the table [default: the spec's, else append]. overwrite-partitions "
                   "replaces only the partitions the batch has; merge (Delta) upserts on --merge-key.")
@click.option("--merge-key", "merge_keys", multiple=True, metavar="COL", help="Key column of a merge (repeatable).")
@click.option("--change-column", metavar="COL",
              help="Merge: the column holding each row's change, I (insert), U (update) or D (delete), as AWS DMS "
                   "writes Op; it is not stored in the table.")
@click.option("--order-by", metavar="COL", help="Merge: of several changes to one key in a batch, the greatest wins.")
@click.option("--batch-id", metavar="ID", help="Idempotency key: a batch id the table already committed is a no-op.")
@click.option("--no-govern", is_flag=True, help="Skip PII classification and Lake Formation tagging.")
@click.option("--changed-files", type=click.Choice(["hold", "reingest"]),
              help="A file ingested before whose content changed: hold it back and report it [default], or "
                   "reingest it (its earlier rows stay: use merge keys or an overwrite to replace them).")
@click.option("--dq-rules", "dq_rules", metavar="FILE",
              help="DQDL rules (AWS Glue Data Quality's language) checked in the batch; a rule's label action= "
                   "quarantine|fail|warn decides what its failure does [default: --dq-default-action].")
@click.option("--dq-default-action", type=click.Choice(["quarantine", "fail", "warn"]),
              help="What a failing rule without its own action does [default: warn].")
@click.option("--dq-cloudwatch", is_flag=True,
              help="Publish each evaluation's rule counts to CloudWatch as Glue Data Quality does (namespace "
                   "'Glue Data Quality', dimension EvaluationContext: the table, or the spec's evaluation_context).")
@click.option("--null-value", "null_values", multiple=True, metavar="TEXT",
              help="A missing-value token of this source (repeatable): NULL in every column, text columns too. "
                   "[default: NA, N/A, NULL, NaN, #N/A, ... become NULL in numeric and other typed columns only]")
@click.option("--widen", type=click.Choice(["auto", "rewrite", "quarantine"]),
              help="A type change the table's files cannot follow (bigint to double): rewrite the files that hold "
                   "the old type when they total at most $LAKEWARD_WIDEN_REWRITE_MB [auto, default], always "
                   "(rewrite), or never, quarantining the values that do not fit (quarantine).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False),
              help="Also write the run report as JSON (a list when the spec ingests several tables).")
def ingest(source: str | None, table: str | None, spec_path: str | None, table_format: str | None,
           partition_by: str | None, lake: str | None, evolution: str | None, hints: tuple[str, ...],
           mode: str | None, merge_keys: tuple[str, ...], change_column: str | None, order_by: str | None,
           batch_id: str | None, no_govern: bool, changed_files: str | None, dq_rules: str | None,
           dq_default_action: str | None, dq_cloudwatch: bool, null_values: tuple[str, ...],
           widen: str | None, report_path: str | None) -> None:
    """Ingest SOURCE (a raw file or folder, any mix of JSON, CSV/TSV, Parquet, .gz/.bz2) into DB.TABLE,
    or every table of a --spec file."""
    with _clear_errors():
        from lakeward.ingest.files import run_ingest
        from lakeward.runtime.aws import aws_context
        from lakeward.runtime.settings import Settings
        from lakeward.runtime.spark import spark_session, start_spark
        from lakeward.runtime.storage import Storage
        from lakeward.spec import ingest_requests, with_rules
        from lakeward.tables.write_modes import WriteOptions

        settings = Settings.load()
        start_spark(settings)
        write = WriteOptions(mode, merge_keys, change_column, order_by, batch_id)
        with aws_context(settings) as aws:
            requests = ingest_requests(Storage.for_aws(aws), source=source, table=table, spec_path=spec_path,
                                       lake=lake, default_lake=settings.lake, door="cli", hints=hints, write=write,
                                       format=table_format, partition_by=partition_by, evolution=evolution,
                                       govern=False if no_govern else None, changed_files=changed_files,
                                       widen=widen, null_values=null_values or None)
            if dq_rules or dq_default_action or dq_cloudwatch:
                requests = [with_rules(r, Storage.for_aws(aws), dq_rules, dq_default_action, cloudwatch=dq_cloudwatch)
                            for r in requests]
            for request in requests:
                request.check()
            reports = []
            for request in requests:
                report = run_ingest(spark_session(settings, aws), aws, request, settings)
                report.print(console)
                reports.append(report.to_dict())
                if report_path:  # after each table: a later table's failure keeps the earlier reports
                    Path(report_path).parent.mkdir(parents=True, exist_ok=True)
                    Path(report_path).write_text(json.dumps(reports[0] if len(requests) == 1 else reports,
                                                            indent=2, default=str))


def _render(result: "QueryResult", output: str) -> None:  # type: ignore[name-defined]  # noqa: F821
    if output == "json":
        click.echo(json.dumps(result.records(), default=str, indent=1))
    elif output == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
        click.echo(buffer.getvalue(), nl=False)
    else:
        table = Table(*result.columns)
        for row in result.rows:
            table.add_row(*("NULL" if v is None else escape(str(v)) for v in row))
        console.print(table)
    for scan in result.scans:  # on stderr, whatever the output format
        err_console.print(f"[dim]{scan.table} ({scan.format}): {scan.partitions_scanned} of "
                          f"{scan.partitions_total} partitions, {scan.files_scanned} files[/]")
    for note in result.notes:
        err_console.print(f"note: {note}", markup=False)


@main.command()
@click.argument("sql")
@click.option("--output", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--as", "principal", metavar="ARN",
              help="Run as this principal: Lake Formation grants decide which columns the query may read.")
@click.option("--engine", type=click.Choice(["local", "athena"]),
              help="local: DuckDB over the tables' files; athena: submit to Amazon Athena "
                   "[default: $LAKEWARD_QUERY_ENGINE, else athena with the environment's AWS, local with the "
                   "embedded emulator].")
def query(sql: str, output: str, principal: str | None, engine: str | None) -> None:
    """Run Athena (Trino) SQL over tables registered in the Glue Data Catalog."""
    with _clear_errors():
        from lakeward.query import run_query
        from lakeward.query.athena import AthenaTarget
        from lakeward.runtime.aws import aws_context
        from lakeward.runtime.settings import Settings

        settings = Settings.load(query_engine=(engine, "--engine"))
        with aws_context(settings) as aws:
            chosen = settings.query_engine or ("local" if aws.embedded else "athena")
            target = AthenaTarget(settings.athena_workgroup, settings.athena_output, settings.athena_timeout_s)
            result = run_query(aws, sql, principal, chosen, target)  # type: ignore[arg-type]
        _render(result, output)


@main.command()
@click.argument("table")
@click.option("--sample-rows", type=int, help="Rows to sample [default: $LAKEWARD_PII_SAMPLE_ROWS, else 10,000].")
@click.option("--dry-run", is_flag=True, help="Print what was found without changing the catalog.")
@click.option("--spec", "spec_path", type=click.Path(dir_okay=False), help="Spec file whose governance section applies.")
def classify(table: str, sample_rows: int | None, dry_run: bool, spec_path: str | None) -> None:
    """Find the PII columns of DB.TABLE from a sample of its data and record them in Glue (pii, pii_confidence)."""
    with _clear_errors():
        from lakeward.cli.govern import governance_from_spec
        from lakeward.governance.classify import run_classify
        from lakeward.runtime.aws import aws_context
        from lakeward.runtime.settings import Settings
        from lakeward.runtime.spark import spark_session

        settings = Settings.load(pii_sample_rows=(sample_rows, "--sample-rows"))
        with aws_context(settings) as aws:
            result = run_classify(spark_session(settings, aws), aws, table, settings, dry_run,
                                  governance_from_spec(spec_path, aws))
        found = Table("column", "entity", "confidence", "evidence", box=None)
        for d in result.detections:
            found.add_row(d.column, d.entity, f"{d.confidence:.2f}", d.evidence)
        console.print(found if result.detections else f"no PII found in {result.table}")
        for d in result.doubts:
            console.print(f"[yellow]review:[/] {d.column}: {d.entity}: {d.evidence}; it keeps the database's tags "
                          "until the spec overrides it")
        console.print(f"{result.table}: catalog {'updated' if result.changed else 'unchanged'}")


DEMO_QUERIES = [
    "SELECT dt, count(*) AS orders, sum(amount) AS revenue FROM demo.orders GROUP BY dt ORDER BY dt",
    "SELECT dt, count(*) AS orders, sum(amount) AS revenue FROM demo.orders_delta GROUP BY dt ORDER BY dt",
    "SELECT country, count(*) AS orders FROM demo.orders WHERE dt = DATE '2024-03-02' GROUP BY country ORDER BY country",
    "SELECT order_id, customer.full_name, customer.address.city, items[1].sku AS first_sku "
    "FROM demo.orders_delta WHERE customer IS NOT NULL ORDER BY order_id LIMIT 5",
    "SELECT coupon_code, count(*) AS orders FROM demo.orders WHERE coupon_code IS NOT NULL GROUP BY 1 ORDER BY 1",
]


@main.command()
@click.option("--workdir", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Where the raw zone (raw/) and the lake (lake/) are created.")
def demo(workdir: str) -> None:
    """Generate a heterogeneous raw zone, ingest it into a Parquet and a Delta table, and query both."""
    with _clear_errors():
        from lakeward.cli.demo_data import write_sample
        from lakeward.ingest.files import run_ingest
        from lakeward.ingest.request import IngestRequest
        from lakeward.query import run_query
        from lakeward.runtime.aws import aws_context
        from lakeward.runtime.settings import Settings
        from lakeward.runtime.spark import spark_session, start_spark

        root = Path(workdir).resolve()
        raw, lake = root / "raw", root / "lake"
        write_sample(raw)
        console.print(f"raw zone: {raw}")
        settings = Settings.load()
        start_spark(settings)
        with aws_context(settings) as aws:
            for table, table_format in (("demo.orders", "parquet"), ("demo.orders_delta", "delta")):
                report = run_ingest(spark_session(settings, aws), aws, IngestRequest(
                    table, str(raw), table_format, "dt=date(order_ts)", str(lake)), settings)  # type: ignore[arg-type]
                report.print(console)
                report.save(root / "reports" / f"{table}.json")
            for sql in DEMO_QUERIES:
                console.rule(f"[bold]lakeward query[/] {sql}")
                _render(run_query(aws, sql), "table")


def _register_subcommands() -> None:
    from lakeward.cli.govern import access, govern
    from lakeward.cli.maintenance import optimize, vacuum
    from lakeward.cli.schema import schema
    from lakeward.cli.quality import quality
    from lakeward.cli.stream import stream

    main.add_command(schema)
    main.add_command(stream)
    main.add_command(quality)
    main.add_command(govern)
    main.add_command(access)
    main.add_command(optimize)
    main.add_command(vacuum)


_register_subcommands()


if __name__ == "__main__":
    main()
