"""A compressed soak of `lakeward stream kafka`: a steady rate for many minutes, compaction on, watched as
it runs, so what grows with time (memory, files, log size, micro-batch time, latency) shows.

A producer drives RATE JSON records/s into a 2-partition topic of a real Kafka broker; the CLI consumer
(a fresh process, 1 s trigger, Delta, --compact-every 50) runs for MINUTES. Every 10 s the bench samples
the consumer's resident memory (the Python driver and its JVM) and the table's live files. Afterwards:
every record landed once (count and distinct ids), produce -> visible p95 per minute, micro-batch time
in the first and the last minute, the Delta log's versions and checkpoints.

    python bench/stream_soak.py --rate 500 --minutes 10
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import bench_workspace  # noqa: E402
from bench.stream_latency import percentile, produce, visible_latencies  # noqa: E402
from lakeward.testing.kafka import KafkaBroker  # noqa: E402


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants (the CLI's JVM is its child)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration):
            continue
    return round(total / 1024, 1)


def live_files(table: Path) -> int | None:
    from deltalake import DeltaTable

    try:
        return len(DeltaTable(str(table)).file_uris())
    except Exception:  # noqa: BLE001 - not created yet, or a commit in flight
        return None


def run(rate: int, minutes: float) -> dict:
    with bench_workspace() as work, KafkaBroker() as broker:
        topic = "soak"
        from kafka.admin import KafkaAdminClient, NewTopic

        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
        admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
        admin.close()
        table, report = work / "lake/soak/events", work / "report.json"
        consumer = subprocess.Popen(
            [sys.executable, "-m", "lakeward.cli", "stream", "kafka", topic, "--bootstrap-servers", broker.bootstrap,
             "--table", "soak.events", "--lake", str(work / "lake"), "--format", "delta", "--trigger", "1s",
             "--compact-every", "50", "--no-govern", "--report", str(report)],
            cwd=work, stdout=subprocess.DEVNULL, stderr=open(work / "consumer.log", "w"), env=dict(os.environ))
        time.sleep(20)
        samples: list[dict] = []
        producing = threading.Thread(target=lambda: samples.append({"sent": produce(broker.bootstrap, topic, rate,
                                                                                     minutes * 60)}))
        started = time.monotonic()
        producing.start()
        while producing.is_alive():
            samples.append({"t": round(time.monotonic() - started), "rss_mb": tree_rss_mb(consumer.pid),
                            "files": live_files(table)})
            producing.join(10)
        time.sleep(10)
        consumer.terminate()
        consumer.wait(timeout=300)
        sent = next(s["sent"] for s in samples if "sent" in s)
        batches = json.loads(report.read_text())["batches"]
        points = visible_latencies(table)
        from deltalake import DeltaTable

        import pyarrow.compute as pc

        ids = DeltaTable(str(table)).to_pyarrow_table(columns=["id"]).column("id")
        log = list((table / "_delta_log").iterdir())
    first_sent = points[0][0]
    per_minute: dict[int, list[float]] = {}
    for sent_at, latency in points:
        per_minute.setdefault(int((sent_at - first_sent) // 60), []).append(latency)
    watched = [s for s in samples if "rss_mb" in s]
    minute = max(1, len(batches) * 60 // max(1, int(minutes * 60)))
    return {"rate": rate, "minutes": minutes, "sent": sent, "rows": len(ids),
            "distinct_ids": pc.count_distinct(ids).as_py(), "micro_batches": len(batches),
            "compactions": sum(1 for b in batches if b["compacted"]),
            "p95_s_per_minute": {m: round(percentile(v, 95), 2) for m, v in sorted(per_minute.items())},
            "batch_s_first_minute": round(statistics.median(b["duration_s"] for b in batches[:minute]), 2),
            "batch_s_last_minute": round(statistics.median(b["duration_s"] for b in batches[-minute:]), 2),
            "rss_mb_first_last_max": (watched[0]["rss_mb"], watched[-1]["rss_mb"], max(s["rss_mb"] for s in watched)),
            "rss_mb_per_minute": [s["rss_mb"] for s in watched[::6]],
            "live_files_max": max((s["files"] or 0) for s in watched), "live_files_end": watched[-1]["files"],
            "delta_versions": sum(1 for p in log if p.suffix == ".json"),
            "delta_checkpoints": sum(1 for p in log if p.name.endswith(".checkpoint.parquet"))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--minutes", type=float, default=10)
    args = parser.parse_args()
    print(json.dumps(run(args.rate, args.minutes)), flush=True)


if __name__ == "__main__":
    main()
