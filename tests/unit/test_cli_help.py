import pytest
from click.testing import CliRunner

from lakeward.cli.main import main

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("command", [[], ["ingest"], ["query"], ["demo"], ["schema"], ["schema", "show"],
                                     ["schema", "history"], ["schema", "diff"]])
def test_every_command_has_help(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_ingest_options_are_the_documented_contract():
    text = CliRunner().invoke(main, ["ingest", "--help"]).output
    for option in ("--table", "--format", "--partition-by", "--lake", "--report"):
        assert option in text
