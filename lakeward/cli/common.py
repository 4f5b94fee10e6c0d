"""What every command shares: the consoles and the translation of errors into one clear line."""
from __future__ import annotations

import os
import sys
import tempfile
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape

from lakeward.errors import LakewardError

console = Console()
err_console = Console(stderr=True)


@contextmanager
def _clear_errors() -> Iterator[None]:
    """Our errors become one readable line and exit status 2 (bad input: what to fix). Anything else is a
    failure that is not the user's: exit status 3 with its cause and where it happened (the JVM's first
    line for Spark failures; the traceback in a file for a defect of lakeward itself)."""
    try:
        yield
    except LakewardError as e:
        err_console.print(f"[bold red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as e:  # noqa: BLE001 - the last line of defence of a command
        err_console.print(failure_message(e), highlight=False, soft_wrap=True, markup=False)
        sys.exit(3)


def failure_message(e: BaseException) -> str:
    """One paragraph on an unexpected failure: Spark's headline, or the exception, the innermost frame of
    our code it passed through, and a file holding the whole traceback."""
    if type(e).__module__.startswith(("py4j", "pyspark")):
        cause = _spark_cause(e)
        if 'No FileSystem for scheme "s3' in cause:
            from lakeward.runtime.s3a import MISSING_HINT

            return f"Spark failed: {cause}: {MISSING_HINT}"
        return f"Spark failed: {cause}"
    frames = traceback.extract_tb(e.__traceback__)
    ours = [f for f in frames if any(part in f.filename for part in _OUR_PACKAGES)] or frames
    where = f" at {_relative(ours[-1].filename)}:{ours[-1].lineno} in {ours[-1].name}" if ours else ""
    fd, path = tempfile.mkstemp(prefix="lakeward-failure-", suffix=".txt")
    with os.fdopen(fd, "w") as f:
        f.write("".join(traceback.format_exception(e)))
    if isinstance(e, OSError):  # the filesystem, the network or a permission: the cause is in the message
        return f"I/O failed: {type(e).__name__}: {e}{where} (traceback in {path})"
    return (f"internal error: {type(e).__name__}: {e}{where}. This is a defect of lakeward, not of your "
            f"input; the traceback is in {path} (please attach it to a lakeward issue)")


def _spark_cause(e: BaseException) -> str:
    """The innermost cause the JVM reports (py4j's own message only says which call failed)."""
    cause = getattr(e, "java_exception", None)
    try:
        while cause is not None and cause.getCause() is not None:
            cause = cause.getCause()
        text = str(cause.toString()) if cause is not None else str(e)
    except Exception:  # noqa: BLE001 - the gateway may be gone
        text = str(e)
    return text.strip().splitlines()[0] if text.strip() else type(e).__name__


_OUR_PACKAGES = ("/lakeward/", "/catalog/", "/lakeformation/", "/glue_jobs/", "/streaming_jobs/")


def _relative(filename: str) -> str:
    for package in _OUR_PACKAGES:
        if package in filename:
            return package.strip("/") + "/" + filename.split(package, 1)[1]
    return filename
