"""``lakeward quality check|show``: DQDL rules over a table, and the quality history of a table."""
from __future__ import annotations

import json

import click
from rich.table import Table

from lakeward.cli.common import _clear_errors, console


@click.group()
def quality() -> None:
    """Data quality rules (DQDL, AWS Glue Data Quality's language) and their history."""


@quality.command()
@click.argument("table")
@click.option("--rules", "rules_path", required=True, metavar="FILE", help="DQDL rules (local or s3://).")
@click.option("--lake", help="Where the database's quality_results table lives [default: $LAKEWARD_LAKE, else ./lake].")
@click.option("--reference", "references", multiple=True, metavar="ALIAS=DB.TABLE",
              help="The table behind a ReferentialIntegrity alias [default: the alias's table in DB].")
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def check(table: str, rules_path: str, lake: str | None, references: tuple[str, ...], output: str) -> None:
    """Evaluate the rules over DB.TABLE as it is now (nothing is written but the quality history). --output json
    prints one object per rule: rule (as written), outcome (passed, failed or error), metric, failing_rows.
    Exit status 0 whatever the outcomes; 2 for rules that do not parse (naming the rule)."""
    with _clear_errors():
        from lakeward.quality.check import check_table
        from lakeward.quality.policy import QualityRules
        from lakeward.runtime.aws import aws_context
        from lakeward.runtime.settings import Settings
        from lakeward.runtime.spark import spark_session, start_spark
        from lakeward.runtime.storage import Storage
        from lakeward.spec import read_rules

        settings = Settings.load()
        start_spark(settings)
        with aws_context(settings) as aws:
            mapped = dict(r.partition("=")[::2] for r in references)
            rules = QualityRules.parse(read_rules(Storage.for_aws(aws), rules_path), "warn", f"--rules {rules_path}",
                                       mapped)
            outcomes = check_table(spark_session(settings, aws), aws, settings, table, rules, lake or settings.lake)
    if output == "json":
        click.echo(json.dumps([checked(o) for o in outcomes], indent=1, default=str))
    else:
        _show(outcomes, output)


def checked(outcome: dict) -> dict:
    """A rule's outcome as `quality check --output json` prints it."""
    metrics = outcome.get("metrics") or {}
    return {"rule": outcome.get("source") or outcome["rule"], "outcome": outcome["outcome"].lower(),
            "metric": next(iter(metrics.values()), None), "failing_rows": outcome.get("failing_rows"),
            "metrics": metrics, "reason": outcome.get("reason"), "action": outcome.get("action")}


@quality.command()
@click.argument("table")
@click.option("--last", default=5, show_default=True, help="How many evaluations to show.")
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def show(table: str, last: int, output: str) -> None:
    """The latest rule outcomes of DB.TABLE from its database's quality_results table."""
    with _clear_errors():
        from lakeward.ingest.request import parse_table_name
        from lakeward.query import run_query
        from lakeward.runtime.aws import aws_context
        from lakeward.runtime.settings import Settings

        database, name = parse_table_name(table)
        sql = (f"SELECT batch_id, max(evaluated_at) AS evaluated_at, rule, max(outcome) AS outcome, max(action) AS "
               f"action, max(reason) AS reason FROM {database}.quality_results WHERE table_name = '{name}' AND batch_id IN "
               f"(SELECT batch_id FROM {database}.quality_results WHERE table_name = '{name}' GROUP BY batch_id "
               f"ORDER BY max(evaluated_at) DESC LIMIT {int(last)}) GROUP BY batch_id, rule ORDER BY 2 DESC, rule")
        with aws_context(Settings.load()) as aws:
            records = run_query(aws, sql).records()
    _show(records, output)


def _show(records: list[dict], output: str) -> None:
    if output == "json":
        click.echo(json.dumps(records, indent=1, default=str))
        return
    table = Table("rule", "outcome", "action", "metrics / reason", box=None)
    for r in records:
        detail = ", ".join(f"{k} {v:g}" for k, v in (r.get("metrics") or {}).items()) or ""
        if r.get("reason"):
            detail = (detail + "; " if detail else "") + str(r["reason"])
        style = "green" if r["outcome"] == "Passed" else "red"
        table.add_row(str(r["rule"]), f"[{style}]{r['outcome']}[/]", str(r.get("action") or ""), detail)
    console.print(table)
