"""The ingestion ledger: which sources a table already holds, committed with the data.

One JSON record per batch under ``<table>/_lakeward/ledger/<batch_id>.json``, written only while the
table's writer lock is held (lakeward.tables.lock). A record is written ``pending`` before any file
becomes visible and ``committed`` once the batch is (Parquet: after the files are published and
partitions registered; Delta: after the Delta commit, whose ``lakeward`` app transaction version the
record names). A source counts as ingested only through a committed record. Since the lock is held, a
pending record found at the start of a run belongs to a writer that died: the run completes it (Delta:
the commit is in the log) or rolls it back before ingesting, so nothing is added twice.

The cost of reading the ledger does not grow with the number of batches: committed records are folded
into ``_snapshot.json`` once more than ``ledger_tail`` of them lie beside it, and the folded records are
deleted. A reader takes the snapshot and the records committed after it (by sequence number).

Batches are ordered by the sequence number each takes under the table lock, never by hosts' clocks.
"""
from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from lakeward.runtime.storage import Storage, join

SNAPSHOT = "_snapshot.json"


@dataclass(frozen=True)
class SourceEntry:
    """A source a batch read: a file (its size, modification time and content identity when known), or
    a stream's position range (uri names it, e.g. ``kafka://topic/3``)."""

    uri: str
    size: int | None = None
    mtime_ns: int | None = None
    etag: str | None = None  # the content's identity: an S3 ETag, or a checksum of a local file

    @classmethod
    def of(cls, data: dict[str, Any]) -> "SourceEntry":
        return cls(data["uri"], data.get("size"), data.get("mtime_ns"), data.get("etag"))


@dataclass(frozen=True)
class StreamPositions:
    """Where a stream consumer stands after a batch: committed with the batch, so a restart resumes there
    and a replayed batch (the same number) is recognised."""

    consumer: str
    batch: int  # the stream's own batch number (Spark's batch id), increasing
    offsets: dict[str, Any] = field(default_factory=dict)  # per partition or shard: where the next batch starts

    @classmethod
    def of(cls, data: dict[str, Any]) -> "StreamPositions":
        return cls(data["consumer"], int(data["batch"]), dict(data.get("offsets", {})))


@dataclass
class BatchRecord:
    batch_id: str
    seq: int = 0
    status: Literal["pending", "committed"] = "pending"
    operation: Literal["ingest", "optimize"] = "ingest"
    mode: str = "append"
    table: tuple[str, str] | None = None
    sources: list[SourceEntry] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)  # files published, relative to the table root
    quarantine: str | None = None
    caller_batch_id: str | None = None
    partition_spec: str | None = None
    evolution: str | None = None
    names: dict[str, str] = field(default_factory=dict)  # raw name -> column
    positions: StreamPositions | None = None  # a stream consumer's positions, committed with the batch
    superseded: list[str] = field(default_factory=list)  # batches whose rows this batch replaced
    delta_txn: int | None = None
    swap: dict[str, Any] | None = None  # a Parquet location swap in progress (recovery completes it)
    replaced: list[str] = field(default_factory=list)  # locations the batch replaced (vacuum removes them)
    replaced_at: float | None = None
    started_at: float = field(default_factory=time.time)
    committed_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["table"] = list(self.table) if self.table else None
        return {k: v for k, v in data.items() if v not in (None, [], {})}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "BatchRecord":
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["sources"] = [SourceEntry.of(s) for s in data.get("sources", [])]
        values["table"] = tuple(data["table"]) if data.get("table") else None
        values["positions"] = StreamPositions.of(data["positions"]) if data.get("positions") else None
        return cls(**values)

    @property
    def order(self) -> tuple[int, float, str]:
        """Sequence number, then commit time for records written before sequence numbers existed."""
        return self.seq, self.committed_at or 0.0, self.batch_id


@dataclass(frozen=True)
class LedgerEntry:
    size: int | None
    mtime_ns: int | None
    batch_id: str
    etag: str | None = None


@dataclass
class LedgerState:
    """Everything the committed batches say, folded in commit order, and the pending records."""

    seq: int = 0  # the highest sequence number folded in
    ingested: dict[str, LedgerEntry] = field(default_factory=dict)  # source uri -> the batch that took it
    partition_spec: str | None = None
    evolution: str | None = None
    names: dict[str, str] = field(default_factory=dict)  # raw name -> column, as every batch mapped them
    replacements: list[tuple[float, list[str]]] = field(default_factory=list)  # (when, locations replaced)
    moved: bool = False  # some batch put partitions (or the table) into a generation folder
    caller_batches: set[str] = field(default_factory=set)
    positions: dict[str, StreamPositions] = field(default_factory=dict)  # consumer -> its last committed positions
    pending: list[BatchRecord] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)  # committed record files not yet in the snapshot

    @property
    def next_seq(self) -> int:
        return max([self.seq, *(r.seq for r in self.pending)]) + 1

    @property
    def retired(self) -> set[str]:
        """Locations an overwrite or compaction replaced: they may hold old files until vacuum, so no
        partition is registered there again."""
        return {location for _, locations in self.replacements for location in locations}

    def fold(self, record: BatchRecord) -> None:
        """Take a committed record in (records are folded in commit order)."""
        self.seq = max(self.seq, record.seq)
        for source in record.sources:
            self.ingested[source.uri] = LedgerEntry(source.size, source.mtime_ns, record.batch_id, source.etag)
        self.partition_spec = record.partition_spec if record.partition_spec is not None else self.partition_spec
        self.evolution = record.evolution or self.evolution
        self.names.update(record.names)
        if record.replaced:
            self.replacements.append((record.replaced_at or record.committed_at or 0.0, list(record.replaced)))
        self.moved = self.moved or bool(record.swap)
        if record.caller_batch_id:
            self.caller_batches.add(record.caller_batch_id)
        if record.positions:
            self.positions[record.positions.consumer] = record.positions

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "partition_spec": self.partition_spec, "evolution": self.evolution,
                "names": self.names, "moved": self.moved, "caller_batches": sorted(self.caller_batches),
                "positions": {k: dataclasses.asdict(v) for k, v in self.positions.items()}, "replacements": [[at, locs] for at, locs in self.replacements],
                "ingested": {uri: [e.size, e.mtime_ns, e.batch_id, e.etag] for uri, e in self.ingested.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "LedgerState":
        return cls(data["seq"], {uri: LedgerEntry(*entry) for uri, entry in data.get("ingested", {}).items()},
                   data.get("partition_spec"), data.get("evolution"), dict(data.get("names", {})),
                   [(at, list(locs)) for at, locs in data.get("replacements", [])], bool(data.get("moved")),
                   set(data.get("caller_batches", [])),
                   {k: StreamPositions.of(v) for k, v in data.get("positions", {}).items()})


def fold(records: list[BatchRecord], base: LedgerState | None = None) -> LedgerState:
    """The state after ``base`` and these records (the committed ones, in commit order)."""
    state = base or LedgerState()
    committed = sorted((r for r in records if r.status == "committed"), key=lambda r: r.order)
    for record in committed:
        state.fold(record)
        state.tail.append(record.batch_id)
    state.pending = sorted((r for r in records if r.status == "pending"), key=lambda r: r.order)
    return state


class Ledger:
    def __init__(self, storage: Storage, table_uri: str, tail: int = 64):
        self.storage = storage
        self.dir = join(table_uri, "_lakeward", "ledger")
        self.tail = tail

    def _uri(self, batch_id: str) -> str:
        return join(self.dir, f"{batch_id}.json")

    def load(self) -> LedgerState:
        """The snapshot and the records beside it: one listing, one read per record of the tail."""
        entries = self.storage.list_files(self.dir, skip_hidden=False)
        uris = [e.uri for e in entries if e.uri.endswith(".json")]
        snapshot_uri = join(self.dir, SNAPSHOT)
        base = LedgerState.from_json(self.storage.read_json(snapshot_uri)) if snapshot_uri in uris else None
        records = [u for u in uris if u != snapshot_uri]
        with ThreadPoolExecutor(16) as pool:
            loaded = [BatchRecord.from_json(data) for data in pool.map(self.storage.read_json, records)]
        folded = [r for r in loaded if base is None or r.status == "pending" or r.seq > base.seq]
        stale = [r.batch_id for r in loaded if r not in folded]  # folded already; a compaction was cut short
        state = fold(folded, base)
        if stale:
            self.storage.delete_many([self._uri(b) for b in stale])
        return state

    def begin(self, record: BatchRecord) -> BatchRecord:
        record.status = "pending"
        self.storage.write_json(self._uri(record.batch_id), record.to_json())
        return record

    def save(self, record: BatchRecord) -> BatchRecord:
        """Store a pending record again with more in it (a swap plan, say)."""
        self.storage.write_json(self._uri(record.batch_id), record.to_json())
        return record

    def commit(self, record: BatchRecord, state: LedgerState | None = None) -> BatchRecord:
        """Mark the batch committed; with ``state`` (the caller's view, under the lock) fold it in and
        compact the ledger when its tail grew past the limit."""
        record.status, record.committed_at = "committed", time.time()
        self.storage.write_json(self._uri(record.batch_id), record.to_json())
        if state is not None:
            state.pending = [r for r in state.pending if r.batch_id != record.batch_id]
            state.fold(record)
            state.tail.append(record.batch_id)
            if len(state.tail) > self.tail:
                self.compact(state)
        return record

    def compact(self, state: LedgerState) -> None:
        """Write the snapshot of ``state``, then delete the records it holds."""
        self.storage.write_json(join(self.dir, SNAPSHOT), state.to_json())
        self.storage.delete_many([self._uri(b) for b in state.tail])
        state.tail = []

    def remove(self, batch_id: str) -> None:
        self.storage.delete_many([self._uri(batch_id)])
