"""``lakeward govern plan|apply`` and ``lakeward access``: governance as code, and what a principal sees."""
from __future__ import annotations

import json

import click
from rich.table import Table

from lakeward.cli.common import _clear_errors, console


def governance_from_spec(spec_path: str | None, aws):  # type: ignore[no-untyped-def]
    if not spec_path:
        return None
    from lakeward.runtime.storage import Storage
    from lakeward.spec import read_spec

    return read_spec(Storage.for_aws(aws), spec_path).governance


@click.group()
def govern() -> None:
    """Apply the governance spec (LF-tags, tag assignments, LF-tag policy grants) to Lake Formation."""


@govern.command("plan")
@click.option("--spec", "spec_path", type=click.Path(dir_okay=False),
              help="Spec file with a governance section (default: the built-in ontology and rules).")
def plan_command(spec_path: str | None) -> None:
    """Print what apply would change, and the drift (present in Lake Formation, absent from the spec)."""
    with _clear_errors():
        from lakeward.governance.policy import governance_plan
        from lakeward.runtime.aws import aws_context
        from lakeward.runtime.settings import Settings

        with aws_context(Settings.load()) as aws:
            result = governance_plan(aws, governance_from_spec(spec_path, aws))
        for line in result.lines():
            console.print(line, highlight=False, soft_wrap=True)
        console.print(f"{result.changes} change(s), {result.drift} drift item(s)"
                      + (" (removed by apply --prune)" if result.drift else ""))


@govern.command("apply")
@click.option("--spec", "spec_path", type=click.Path(dir_okay=False),
              help="Spec file with a governance section (default: the built-in ontology and rules).")
@click.option("--prune", is_flag=True, help="Also remove the drift: grants, column tags and tag values not in the spec.")
def apply_command(spec_path: str | None, prune: bool) -> None:
    """Make Lake Formation match the spec (idempotent: a second apply changes nothing)."""
    with _clear_errors():
        from lakeward.governance.policy import governance_apply
        from lakeward.runtime.aws import aws_context
        from lakeward.runtime.settings import Settings

        with aws_context(Settings.load()) as aws:
            result = governance_apply(aws, governance_from_spec(spec_path, aws), prune)
        for line in result.lines():
            if prune or line.startswith("+"):
                console.print(line, highlight=False, soft_wrap=True)
        console.print(f"applied {result.changes} change(s)" + (f", removed {result.drift} drift item(s)" if prune
                                                               else f"; {result.drift} drift item(s) left (--prune)"))


@click.command()
@click.option("--principal", required=True, help="IAM role or user ARN.")
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def access(principal: str, output: str) -> None:
    """List the tables and columns PRINCIPAL can read under the LF-tags and LF-tag policy grants."""
    with _clear_errors():
        from lakeward.governance.policy import access as table_access
        from lakeward.runtime.aws import aws_context
        from lakeward.runtime.settings import Settings

        with aws_context(Settings.load()) as aws:
            tables = table_access(aws, principal)
        if output == "json":
            click.echo(json.dumps([{"table": f"{t.database}.{t.name}", "readable": list(t.readable),
                                    "hidden": list(t.hidden)} for t in tables], indent=1))
            return
        view = Table("table", "readable columns", "hidden columns", box=None)
        for t in tables:
            view.add_row(f"{t.database}.{t.name}", ", ".join(t.readable) or "-", ", ".join(t.hidden) or "-")
        console.print(view)
