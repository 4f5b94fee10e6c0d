"""What every benchmark needs: a scratch folder and a moto server in its own process, with the AWS
settings of this process pointing at it; both removed at the end."""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lakeward.runtime.emulator import free_port, start_moto_server


@contextmanager
def bench_workspace() -> Iterator[Path]:
    work = Path(tempfile.mkdtemp(prefix="lakeward-bench-"))
    with open(work / "moto.log", "wb") as log:
        port = free_port()
        server = start_moto_server(port, log)
        os.environ.update({"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "bench",
                           "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"})
        try:
            yield work
        finally:
            server.terminate()
            shutil.rmtree(work, ignore_errors=True)
