"""The ingestion ledger: which raw files a table already holds, committed with the data.

One JSON record per batch under ``<table>/_lakeward/ledger/``. A record is written ``pending`` before
files become visible and ``committed`` once the batch is (Parquet: after the files are published and
partitions registered; Delta: after the Delta commit, which also carries the batch id as a
transaction). A file counts as ingested only through a committed record, so a crash never leaves rows
that a rerun would add a second time: the rerun rolls the crashed batch back (or, for Delta, confirms it
from the log) before ingesting.

Rule for changed files: a file is identified by its path; if its size or modification time differ from
the committed record, it is ingested again in full as a new version and the report marks it ``changed``.
Rows from its earlier version stay in the table (use a merge or overwrite mode to replace them).
"""
from __future__ import annotations

import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from lakeward.storage import Storage, join

PENDING_LEASE_S = float(os.environ.get("LAKEWARD_PENDING_LEASE_S", "3600"))


@dataclass(frozen=True)
class LedgerEntry:
    size: int
    mtime_ns: int
    batch_id: str


class Ledger:
    def __init__(self, storage: Storage, table_uri: str):
        self.storage = storage
        self.dir = join(table_uri, "_lakeward", "ledger")

    def _uri(self, batch_id: str) -> str:
        return join(self.dir, f"{batch_id}.json")

    def records(self) -> list[dict[str, Any]]:
        uris = [e.uri for e in self.storage.list_files(self.dir) if e.uri.endswith(".json")]
        with ThreadPoolExecutor(16) as pool:
            return list(pool.map(self.storage.read_json, uris))

    @staticmethod
    def ingested(records: list[dict[str, Any]]) -> dict[str, LedgerEntry]:
        result: dict[str, LedgerEntry] = {}
        for record in sorted((r for r in records if r["status"] == "committed"), key=lambda r: r["batch_id"]):
            for f in record["sources"]:
                result[f["uri"]] = LedgerEntry(f["size"], f["mtime_ns"], record["batch_id"])
        return result

    @staticmethod
    def abandoned(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Pending records whose writer is gone: dead on this host, or silent past the lease."""
        host, now = socket.gethostname(), time.time()
        result = []
        for record in records:
            if record["status"] != "pending":
                continue
            if record.get("host") == host and not _alive(record.get("pid", -1)):
                result.append(record)
            elif now - record.get("started_at", 0) > PENDING_LEASE_S:
                result.append(record)
        return result

    def begin(self, batch_id: str, sources: list[dict[str, Any]], outputs: list[str]) -> dict[str, Any]:
        record = {"batch_id": batch_id, "status": "pending", "started_at": time.time(),
                  "host": socket.gethostname(), "pid": os.getpid(), "sources": sources, "outputs": outputs}
        self.storage.write_json(self._uri(batch_id), record)
        return record

    def commit(self, record: dict[str, Any]) -> None:
        self.storage.write_json(self._uri(record["batch_id"]), {**record, "status": "committed",
                                                                 "committed_at": time.time()})

    def remove(self, batch_id: str) -> None:
        self.storage.delete_many([self._uri(batch_id)])


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
