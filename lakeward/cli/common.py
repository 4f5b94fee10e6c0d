"""What every command shares: the consoles and the translation of errors into one clear line."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

from lakeward.errors import LakewardError

console = Console()
err_console = Console(stderr=True)


@contextmanager
def _clear_errors() -> Iterator[None]:
    """Our errors become one readable line and exit status 2; Spark failures keep their first line."""
    try:
        yield
    except LakewardError as e:
        err_console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except Exception as e:  # py4j / Spark errors carry a JVM stack trace; show its headline
        if type(e).__module__.startswith(("py4j", "pyspark")):
            headline = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            err_console.print(f"[bold red]Spark failed:[/] {headline}", highlight=False, soft_wrap=True)
            sys.exit(3)
        raise
