import pytest

pytestmark = pytest.mark.unit


def test_ledger_settings_follow_commit_order_not_batch_id_order():
    from lakeward.ledger import Ledger

    records = [{"batch_id": "20260101T000000-ffff", "status": "committed", "committed_at": 1.0, "evolution": "evolve",
                "sources": [], "names": {"a": "a"}},
               {"batch_id": "20260101T000000-0000", "status": "committed", "committed_at": 2.0, "evolution": "freeze",
                "sources": [], "names": {"a": "a_2"}}]
    assert Ledger.latest(records, "evolution") == "freeze"
    assert Ledger.names(records) == {"a": "a_2"}


def test_sequence_numbers_taken_under_the_lock_beat_disagreeing_clocks():
    from lakeward.ledger import Ledger, next_seq

    records = [{"batch_id": "b", "status": "committed", "seq": 2, "committed_at": 100.0, "evolution": "freeze",
                "sources": [{"uri": "file:///x", "size": 2, "mtime_ns": 2}]},
               {"batch_id": "a", "status": "committed", "seq": 1, "committed_at": 900.0, "evolution": "evolve",
                "sources": [{"uri": "file:///x", "size": 1, "mtime_ns": 1}]}]
    assert Ledger.latest(records, "evolution") == "freeze"
    assert Ledger.ingested(records)["file:///x"].size == 2
    assert next_seq(records) == 3 and next_seq([]) == 1
