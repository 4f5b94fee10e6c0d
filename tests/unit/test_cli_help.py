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


def test_an_error_naming_an_extra_keeps_its_brackets():
    import pytest

    from lakeward.cli.common import _clear_errors, err_console
    from lakeward.errors import EmulatorError

    with err_console.capture() as captured, pytest.raises(SystemExit):
        with _clear_errors():
            raise EmulatorError("the embedded AWS emulator needs moto: pip install 'lakeward[local]'")
    assert "pip install 'lakeward[local]'" in captured.get()
