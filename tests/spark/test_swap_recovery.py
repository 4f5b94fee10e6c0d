"""A writer that fails in the middle of a partition swap: readers still see the old partition whole, and
the next run completes the swap from the plan the ledger holds. Glue fails for real, through an HTTP
proxy in front of the moto server that answers one API with 500s."""
from __future__ import annotations

import pytest

from tests.aws_proxy import failing_proxy
from tests.engines import duckdb_rows, registered_locations
from tests.helpers import cli, ingest
from tests.spark.test_write_modes import COLUMNS, batch, expected, orders

pytestmark = [pytest.mark.spark, pytest.mark.aws]


def test_a_swap_cut_short_leaves_the_old_partition_and_the_next_run_completes_it(workdir, glue, aws_env, monkeypatch):
    lake = workdir / "lake"
    first = orders(range(0, 5), "2024-01-01") + orders(range(5, 10), "2024-01-02")
    ingest(batch(workdir, "b1", first), "db.t", lake, "--partition-by", "day", "--no-govern")
    old = dict((v["day"], loc) for v, loc in registered_locations(glue, "db", "t"))

    proxy = failing_proxy(aws_env, "BatchUpdatePartition")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{proxy.server_port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    second = orders(range(5, 8), "2024-01-02", amount=50.0)
    failed = cli("ingest", str(batch(workdir, "b2", second)), "--table", "db.t", "--lake", str(lake),
                 "--mode", "overwrite-partitions", "--no-govern")
    assert failed.exit_code == 2 and "BatchUpdatePartition" in failed.output, failed.output
    proxy.shutdown()
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_env)
    assert dict((v["day"], loc) for v, loc in registered_locations(glue, "db", "t")) == old
    assert duckdb_rows(glue, "db", "t", COLUMNS, "id") == expected(first)  # the old partition, whole

    third = orders(range(20, 22), "2024-01-03")
    report = ingest(batch(workdir, "b3", third), "db.t", lake, "--no-govern")
    assert any("location swap was completed" in r for r in report["recovered_batches"]), report["recovered_batches"]
    now = dict((v["day"], loc) for v, loc in registered_locations(glue, "db", "t"))
    assert now["2024-01-01"] == old["2024-01-01"] and "/_gen=" in now["2024-01-02"]
    assert duckdb_rows(glue, "db", "t", COLUMNS, "id") == expected(first[:5], second, third)


def test_an_append_into_a_narrow_partition_and_a_new_one_is_completed_whole_after_a_crash(workdir, glue, aws_env,
                                                                                         monkeypatch):
    """A partition still declaring the narrower type, appended to, is rewritten whole and swapped in; a
    partition new in the same batch is part of that swap plan, so a writer that dies after the swap began
    leaves nothing unregistered."""
    lake = workdir / "lake"
    first = [{"id": i, "amount": i, "day": f"2024-01-0{1 + i % 2}"} for i in range(6)]
    ingest(batch(workdir, "b1", first), "db.w", lake, "--partition-by", "day", "--no-govern")
    widening = [{"id": 6, "amount": 6.5, "day": "2024-01-01"}]  # the table widens; 2024-01-02 stays bigint
    ingest(batch(workdir, "b2", widening), "db.w", lake, "--no-govern")
    proxy = failing_proxy(aws_env, "BatchCreatePartition")  # the new partition's registration fails
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{proxy.server_port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    third = [{"id": 7, "amount": 7.5, "day": "2024-01-02"}, {"id": 8, "amount": 8.5, "day": "2024-01-03"}]
    failed = cli("ingest", str(batch(workdir, "b3", third)), "--table", "db.w", "--lake", str(lake), "--no-govern")
    assert failed.exit_code == 2 and "BatchCreatePartition" in failed.output, failed.output
    proxy.shutdown()
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_env)
    fourth = [{"id": 9, "amount": 9.5, "day": "2024-01-01"}]
    report = ingest(batch(workdir, "b4", fourth), "db.w", lake, "--no-govern")
    assert any("location swap was completed" in r for r in report["recovered_batches"]), report["recovered_batches"]
    assert sorted(v["day"] for v, _ in registered_locations(glue, "db", "w")) == [
        "2024-01-01", "2024-01-02", "2024-01-03"]
    assert duckdb_rows(glue, "db", "w", COLUMNS, "id") == expected(first, widening, third, fourth)
