"""What the ledger costs a batch as it grows: a 1,000-record append into a table whose ledger already
records 10, then 10,000 batches (each with a source file and a caller batch id, as a stream's
micro-batches leave them), Parquet and Delta, in one warm SparkSession against a moto server.

Reported per ledger size: the time to load the ledger (its snapshot and tail) alone, the whole
``ingest_frame`` (best and median of N), and the ledger's files and snapshot size.

Usage: python bench/ledger_overhead.py [--batches 10,10000] [--repeat 5]
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from harness import bench_workspace


def _rows(batch: int, n: int) -> list[dict]:
    return [{"order_id": f"o-{batch}-{i}", "amount": i * 1.5, "status": "NEW", "order_ts": "2024-03-01T10:00:00Z"}
            for i in range(n)]


def seed(ledger, count: int) -> None:  # type: ignore[no-untyped-def]
    """Record ``count`` committed batches the way runs leave them (compacted as they go)."""
    from lakeward.tables.ledger import BatchRecord, SourceEntry

    state = ledger.load()
    for n in range(count):
        record = BatchRecord(f"seed-{n:06d}", state.next_seq, sources=[SourceEntry(f"s3://raw/orders/{n}.json", n, n)],
                             caller_batch_id=f"stream-{n}")
        ledger.commit(ledger.begin(record), state)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", default="10,10000")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with bench_workspace() as work:
        run(work, [int(b) for b in args.batches.split(",")], args.repeat)


def run(work: Path, sizes: list[int], repeat: int) -> None:
    from lakeward.ingest.frames import ingest_frame
    from lakeward.ingest.request import IngestRequest
    from lakeward.runtime.aws import aws_context
    from lakeward.runtime.settings import Settings
    from lakeward.runtime.spark import spark_session
    from lakeward.runtime.storage import Storage
    from lakeward.tables.ledger import Ledger

    settings = Settings.load()
    spark = spark_session(settings)
    frame = spark.createDataFrame(_rows(0, 1000)).cache()
    frame.count()
    print(f"1,000-record appends into a table whose ledger records N batches; best / median of {repeat}")
    with aws_context(settings) as aws:
        for size in sizes:
            for fmt in ("parquet", "delta"):
                request = IngestRequest(f"bench.ledger_{fmt}_{size}", format=fmt,  # type: ignore[arg-type]
                                        partition_by="dt=date(order_ts)", lake=str(work / "lake"))
                first = ingest_frame(spark, aws, request, frame, settings=settings)
                ledger = Ledger(Storage(), first.location.rstrip("/") if "://" in first.location
                                else Path(first.location).as_uri(), settings.ledger_tail)
                started = time.perf_counter()
                seed(ledger, size)
                seeded = time.perf_counter() - started
                loads = []
                for _ in range(repeat):
                    started = time.perf_counter()
                    state = ledger.load()
                    loads.append(time.perf_counter() - started)
                assert len(state.caller_batches) >= size
                times = []
                for _ in range(repeat):
                    started = time.perf_counter()
                    report = ingest_frame(spark, aws, request, frame, settings=settings)
                    times.append(time.perf_counter() - started)
                    assert report.rows_written == 1000
                folder = Path(ledger.dir.removeprefix("file://"))
                snapshot = folder / "_snapshot.json"
                print(f"  {size:>6,} batches  {fmt:8s} ledger load best {min(loads) * 1000:6.1f} ms  "
                      f"ingest_frame best {min(times):5.2f} s median {statistics.median(times):5.2f} s  "
                      f"ledger files {sum(1 for _ in folder.iterdir())}, snapshot "
                      f"{snapshot.stat().st_size / 1024 if snapshot.exists() else 0:,.0f} KB (seeded in {seeded:.1f} s)")


if __name__ == "__main__":
    main()
