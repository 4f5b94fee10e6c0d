"""One writer per table at a time: ``<table>/_lakeward/lock.json``.

The lock is created only if absent (a local O_EXCL create, an S3 conditional put with If-None-Match),
renewed by a heartbeat while the holder works, and broken when its heartbeat is older than the lease or
its holder is a dead process on this host. While it is held, any pending ledger record of another batch
belongs to a writer that is gone, which is what makes crash recovery safe.
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from typing import Any

from lakeward.errors import ConcurrentWriteError
from lakeward.runtime.storage import Storage, join


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid > 0


class TableLock:
    def __init__(self, storage: Storage, table_uri: str, purpose: str, lease_s: float = 300.0,
                 wait_s: float = 600.0):
        self.storage = storage
        self.uri = join(table_uri, "_lakeward", "lock.json")
        self.table_uri = table_uri
        self.token = uuid.uuid4().hex
        self.purpose = purpose
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lease_s = lease_s
        self.wait_s = wait_s

    def _body(self) -> bytes:
        return json.dumps({"token": self.token, "host": socket.gethostname(), "pid": os.getpid(),
                           "purpose": self.purpose, "heartbeat": time.time()}).encode()

    def _stale(self, holder: dict[str, Any]) -> bool:
        if time.time() - holder.get("heartbeat", 0) > self.lease_s:
            return True
        return holder.get("host") == socket.gethostname() and not _alive(int(holder.get("pid", -1)))

    def __enter__(self) -> "TableLock":
        deadline = time.monotonic() + self.wait_s
        while not self.storage.create_exclusive(self.uri, self._body()):
            try:
                holder = self.storage.read_json(self.uri)
            except (OSError, ValueError):
                continue  # released (or half-written) meanwhile: try again
            if self._stale(holder):
                if self.storage.read_json(self.uri).get("token") == holder.get("token"):
                    self.storage.delete_many([self.uri])
                continue
            if time.monotonic() > deadline:
                raise ConcurrentWriteError(
                    f"table at {self.table_uri} is being written by {holder.get('purpose')} (host "
                    f"{holder.get('host')}, pid {holder.get('pid')}); waited {self.wait_s:.0f} s. If that writer "
                    f"is gone, its lock expires {self.lease_s:.0f} s after its last heartbeat")
            time.sleep(1)
        self._thread = threading.Thread(target=self._heartbeat, daemon=True)
        self._thread.start()
        return self

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.lease_s / 5):
            try:
                if self.storage.read_json(self.uri).get("token") == self.token:
                    self.storage.write_bytes(self.uri, self._body())
            except (OSError, ValueError):
                pass  # the next beat tries again; the lease covers a missed one

    def check(self) -> None:
        """Fencing before a commit: the lock must still be ours. A writer that stalled past its lease may
        have lost the lock to another writer; it must then not commit."""
        try:
            holder = self.storage.read_json(self.uri)
        except (OSError, ValueError):
            holder = {}
        if holder.get("token") != self.token:
            raise ConcurrentWriteError(
                f"table at {self.table_uri}: this writer ({self.purpose}) lost its lock (no heartbeat for "
                f"{self.lease_s:.0f} s, then taken by {holder.get('purpose') or 'nobody'}); the batch was not "
                "committed. Run it again")

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            if self.storage.read_json(self.uri).get("token") == self.token:
                self.storage.delete_many([self.uri])
        except (OSError, ValueError):
            pass
