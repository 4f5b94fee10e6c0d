"""``lakeward optimize`` and ``lakeward vacuum``."""
from __future__ import annotations

import click
from rich.table import Table

from lakeward.cli.common import _clear_errors, console


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MB"


@click.command()
@click.argument("table")
@click.option("--where", metavar="PREDICATE", help="Only partitions matching this Athena predicate on partition "
                                                   "columns, e.g. \"dt >= DATE '2024-03-01'\".")
@click.option("--target-mb", type=click.FloatRange(min=0, min_open=True), help="Target file size [default: $LAKEWARD_TARGET_FILE_MB, else 128].")
@click.option("--dry-run", is_flag=True, help="Show what would be compacted; change nothing.")
def optimize(table: str, where: str | None, target_mb: float | None, dry_run: bool) -> None:
    """Compact the small files of DB.TABLE (Delta: one transaction; Parquet: a new prefix per partition and a
    location swap in Glue) and report the file sizes before and after."""
    with _clear_errors():
        from lakeward.runtime.aws import aws_context
        from lakeward.runtime.settings import Settings
        from lakeward.runtime.spark import spark_session
        from lakeward.tables.maintenance import run_optimize

        settings = Settings.load(target_file_mb=(target_mb, "--target-mb"))
        with aws_context(settings) as aws:
            report = run_optimize(spark_session(settings, aws), aws, table, settings, where, dry_run)
        sizes = Table("", "files", "total", "smallest", "median", "largest", box=None)
        for label, s in (("before", report.before), ("after", report.after)):
            sizes.add_row(label, str(s.files), _mb(s.bytes), _mb(s.smallest), _mb(s.median), _mb(s.largest))
        console.print(sizes)
        verb = "would compact" if dry_run else "compacted"
        console.print(f"{report.table} ({report.format}): {verb} {len(report.compacted)} partition(s)"
                      + (f", {report.rows} rows rewritten" if report.rows else "")
                      + (f", Delta version {report.delta_version}" if report.delta_version is not None else ""))


@click.command()
@click.argument("table")
@click.option("--retain-hours", type=click.FloatRange(min=0), default=168.0, show_default=True,
              help="Keep files replaced or removed less than this long ago (readers may still use them).")
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@click.option("--force", is_flag=True, help="Allow a retention under 168 hours.")
def vacuum(table: str, retain_hours: float, dry_run: bool, force: bool) -> None:
    """Remove the files of DB.TABLE that no reader can still need: replaced Parquet prefixes and unreferenced
    Delta files past the retention, and abandoned staging folders."""
    with _clear_errors():
        from lakeward.runtime.aws import aws_context
        from lakeward.runtime.settings import Settings
        from lakeward.tables.maintenance import run_vacuum

        settings = Settings.load()
        with aws_context(settings) as aws:
            report = run_vacuum(aws, table, settings, retain_hours, dry_run, force)
        verb = "would remove" if dry_run else "removed"
        for uri in report.files[:20]:
            console.print(f"[dim]{uri}[/]")
        console.print(f"{report.table} ({report.format}): {verb} {len(report.files)} file(s) and "
                      f"{len(report.staging)} staging folder(s) older than {retain_hours:g} h")
