"""The embedded AWS emulator: a moto server in its own process whose state survives between commands.

Each command starts a moto server on a free loopback port with moto's request recorder on, replays the
recording of earlier commands into it, runs, then stops the server and compacts the recording to the
requests that changed state. Commands sharing a state folder are serialised by a file lock, so
``ingest`` then ``query`` then ``ingest`` see the catalog as they would on AWS.
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO

from lakeward.errors import EmulatorError

RECORDING = "recording.jsonl"
_READ_PREFIXES = ("Get", "List", "Search", "Describe", "BatchGet", "Query", "Scan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto_server(port: int, log: IO[bytes], env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``python -m moto.server`` on 127.0.0.1:port and wait until it answers."""
    try:
        import moto.server  # noqa: F401
    except ImportError as e:
        raise EmulatorError("the embedded AWS emulator needs moto: pip install 'lakeward[local]', "
                            "or set AWS_ENDPOINT_URL / AWS credentials to use another endpoint") from e
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmulatorError(f"the moto server exited with status {process.returncode}; see {log.name}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/data.json", timeout=1).read()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise EmulatorError(f"the moto server did not answer on port {port} within 60 s; see {log.name}")


def _is_mutation(entry: dict) -> bool:
    headers = {k.lower(): v for k, v in (entry.get("headers") or {}).items()}
    target = headers.get("x-amz-target", "")
    operation = target.rsplit(".", 1)[-1] if target else entry.get("url", "").rstrip("/").rsplit("/", 1)[-1].split("?")[0]
    if entry.get("method") in ("GET", "HEAD"):
        return False
    return not operation.startswith(_READ_PREFIXES)


def compact_recording(path: Path) -> None:
    """Keep only the requests that changed state, so replay stays short."""
    if not path.exists():
        return
    kept = [line for line in path.read_text().splitlines() if line.strip() and _is_mutation(json.loads(line))]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(line + "\n" for line in kept))
    tmp.replace(path)


class EmbeddedEmulator:
    def __init__(self, state_dir: Path):
        self.state_dir = Path(state_dir)
        self.endpoint_url: str | None = None
        self._process: subprocess.Popen | None = None
        self._lock: IO[str] | None = None
        self._log: IO[bytes] | None = None

    def __enter__(self) -> "EmbeddedEmulator":
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.state_dir / "lock", "w")
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self) -> None:
        recording = self.state_dir / RECORDING
        port = free_port()
        self._log = open(self.state_dir / "server.log", "wb")
        self._process = start_moto_server(port, self._log, {
            "MOTO_ENABLE_RECORDING": "True", "MOTO_RECORDER_FILEPATH": str(recording)})
        self.endpoint_url = f"http://127.0.0.1:{port}"
        if recording.exists() and recording.stat().st_size:
            request = urllib.request.Request(f"{self.endpoint_url}/moto-api/recorder/replay-recording",
                                             method="POST", data=b"")
            try:
                urllib.request.urlopen(request, timeout=600).read()
            except OSError as e:
                raise EmulatorError(f"replaying the emulator state in {recording} failed: {e}; "
                                    f"delete {self.state_dir} to start from an empty catalog") from e

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
            self._process = None
            compact_recording(self.state_dir / RECORDING)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None
