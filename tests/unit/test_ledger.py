"""The ledger: batches ordered by the sequence number taken under the lock, folded into a snapshot that
keeps the cost of reading it flat."""
import pytest

from lakeward.runtime.storage import Storage, to_uri
from lakeward.tables.ledger import BatchRecord, Ledger, SourceEntry, StreamPositions, fold

pytestmark = pytest.mark.unit


def _record(batch_id, seq, committed_at, **extra):
    return BatchRecord(batch_id, seq, "committed", committed_at=committed_at, **extra)


def test_ledger_settings_follow_commit_order_not_batch_id_order():
    state = fold([_record("20260101T000000-ffff", 0, 1.0, evolution="evolve", names={"a": "a"}),
                  _record("20260101T000000-0000", 0, 2.0, evolution="freeze", names={"a": "a_2"})])
    assert state.evolution == "freeze" and state.names == {"a": "a_2"}


def test_sequence_numbers_taken_under_the_lock_beat_disagreeing_clocks():
    state = fold([_record("b", 2, 100.0, evolution="freeze", sources=[SourceEntry("file:///x", 2, 2)]),
                  _record("a", 1, 900.0, evolution="evolve", sources=[SourceEntry("file:///x", 1, 1)])])
    assert state.evolution == "freeze"
    assert state.ingested["file:///x"].size == 2
    assert state.next_seq == 3 and fold([]).next_seq == 1


def test_records_of_older_versions_still_read():
    old = {"batch_id": "b", "status": "committed", "committed_at": 5.0, "sources": [{"uri": "u", "size": 1,
           "mtime_ns": 2}], "mode": "append", "table": ["db", "t"], "replaced": ["s3://x/p"], "replaced_at": 4.0}
    record = BatchRecord.from_json(old)
    assert record.table == ("db", "t") and record.sources == [SourceEntry("u", 1, 2)]
    assert BatchRecord.from_json(record.to_json()) == record
    assert fold([record]).replacements == [(4.0, ["s3://x/p"])]


def test_the_ledger_is_compacted_into_a_snapshot_and_reads_the_same(tmp_path):
    storage = Storage()
    table = to_uri(str(tmp_path / "t"))
    ledger = Ledger(storage, table, tail=5)
    state = ledger.load()
    for n in range(12):
        record = BatchRecord(f"b{n:02d}", state.next_seq, sources=[SourceEntry(f"file:///raw/{n}", n, n)],
                             names={f"raw{n}": f"c{n}"}, caller_batch_id=f"caller-{n}",
                             positions=StreamPositions("orders", n, {"0": n + 1}))
        ledger.begin(record)
        ledger.commit(record, state)
    files = sorted(p.name for p in (tmp_path / "t/_lakeward/ledger").iterdir())
    assert "_snapshot.json" in files and len(files) <= 6  # the snapshot and at most the tail
    again = ledger.load()
    assert again.seq == state.seq == 12 and set(again.ingested) == {f"file:///raw/{n}" for n in range(12)}
    assert again.names == state.names and again.caller_batches == {f"caller-{n}" for n in range(12)}
    assert again.positions["orders"] == StreamPositions("orders", 11, {"0": 12})
    pending = BatchRecord("late", again.next_seq)
    ledger.begin(pending)
    assert [r.batch_id for r in ledger.load().pending] == ["late"]


def test_a_compaction_cut_short_leaves_no_record_counted_twice(tmp_path):
    storage = Storage()
    table = to_uri(str(tmp_path / "t"))
    ledger = Ledger(storage, table, tail=100)
    state = ledger.load()
    for n in range(3):
        record = BatchRecord(f"b{n}", state.next_seq, sources=[SourceEntry(f"file:///raw/{n}", 1, 1)])
        ledger.commit(ledger.begin(record), state)
    storage.write_json(f"{ledger.dir}/_snapshot.json", state.to_json())  # died before deleting the records
    again = ledger.load()
    assert again.seq == 3 and len(again.ingested) == 3 and again.tail == []
    assert sorted(p.name for p in (tmp_path / "t/_lakeward/ledger").iterdir()) == ["_snapshot.json"]
