"""The ingestion ledger: which raw files a table already holds, committed with the data.

One JSON record per batch under ``<table>/_lakeward/ledger/``, written only while the table's writer
lock is held (lakeward.locking). A record is written ``pending`` before any file becomes visible and
``committed`` once the batch is (Parquet: after the files are published and partitions registered;
Delta: after the Delta commit, whose ``lakeward`` app transaction version the record names). A file
counts as ingested only through a committed record. Since the lock is held, a pending record found at
the start of a run belongs to a writer that died: the run completes it (Delta: the commit is in the log)
or rolls it back (deletes its files and quarantine output) before ingesting, so nothing is added twice.

Rule for changed files: a file is identified by its path; if its size or modification time differ from
the committed record, it is ingested again in full as a new version and the report marks it ``changed``.
Rows from its earlier version stay in the table (use a merge or overwrite mode to replace them). The
size and time recorded are those of the bytes Spark actually read.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from lakeward.storage import Storage, join


def _commit_order(record: dict[str, Any]) -> tuple[int, float, str]:
    """Records in the order their batches ran: by the sequence number each took under the table lock
    (clocks of different hosts may disagree), then by commit time for records written before it existed."""
    return record.get("seq", 0), record.get("committed_at", 0.0), record["batch_id"]


def next_seq(records: list[dict[str, Any]]) -> int:
    """The sequence number for a new batch; call it under the table lock."""
    return max((r.get("seq", 0) for r in records), default=0) + 1


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
        for record in sorted((r for r in records if r["status"] == "committed"), key=_commit_order):
            for f in record["sources"]:
                result[f["uri"]] = LedgerEntry(f["size"], f["mtime_ns"], record["batch_id"])
        return result

    @staticmethod
    def latest(records: list[dict[str, Any]], key: str) -> Any:
        """A table setting (partition_spec, evolution) as the latest committed batch recorded it. Delta
        tables keep their settings here: delta-rs accepts no table properties of ours."""
        committed = sorted((r for r in records if r["status"] == "committed" and key in r),
                           key=_commit_order)
        return committed[-1][key] if committed else None

    @staticmethod
    def names(records: list[dict[str, Any]]) -> dict[str, str]:
        """Raw name -> column, as every committed batch mapped them (kept here as well as in Glue, so the
        mapping survives a lost catalog entry)."""
        mapping: dict[str, str] = {}
        for record in sorted((r for r in records if r["status"] == "committed"), key=_commit_order):
            mapping.update(record.get("names", {}))
        return mapping

    @staticmethod
    def retired(records: list[dict[str, Any]]) -> set[str]:
        """Locations an overwrite or compaction replaced: they may still hold old files (until vacuum),
        so no partition is registered there again."""
        return {loc for r in records if r["status"] == "committed" for loc in r.get("replaced", [])}

    @staticmethod
    def moved(records: list[dict[str, Any]]) -> bool:
        """Whether any batch put partitions (or the table) into a generation folder."""
        return any(r["status"] == "committed" and r.get("swap") for r in records)

    @staticmethod
    def pending(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in records if r["status"] == "pending"]

    def begin(self, batch_id: str, sources: list[dict[str, Any]], outputs: list[str], **extra: Any) -> dict[str, Any]:
        record = {"batch_id": batch_id, "status": "pending", "started_at": time.time(), "sources": sources,
                  "outputs": outputs, **extra}
        self.storage.write_json(self._uri(batch_id), record)
        return record

    def save(self, record: dict[str, Any]) -> dict[str, Any]:
        """Store a pending record again with more in it (a swap plan, say)."""
        self.storage.write_json(self._uri(record["batch_id"]), record)
        return record

    def commit(self, record: dict[str, Any]) -> None:
        self.storage.write_json(self._uri(record["batch_id"]), {**record, "status": "committed",
                                                                 "committed_at": time.time()})

    def remove(self, batch_id: str) -> None:
        self.storage.delete_many([self._uri(batch_id)])
