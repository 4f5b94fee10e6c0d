"""The ``lakeward`` command line."""
from lakeward.cli.main import main

__all__ = ["main"]
