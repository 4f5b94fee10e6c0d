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
