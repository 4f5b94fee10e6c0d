"""Produce -> visible latency and sustained rate of `lakeward stream kafka` against a real broker.

A producer sends JSON records carrying their send time at a fixed rate into a 2-partition topic on a
local Kafka broker (KRaft, lakeward/testing/kafka.py); `lakeward stream kafka` runs as users run it (the CLI in
a fresh process, a moto server for Glue) with a 1 s trigger into a Delta table. Afterwards every record's
visibility time is the commit time of the Delta version that added its file (what a reader of the table,
Athena included, can see from then on), so latency = commit time - send time, per record. The rate is
sustained when the latency of the last third of the run is no worse than the first third's.
Also reports where a micro-batch's time goes (the core's plan / write / commit steps).

    python bench/stream_latency.py --rates 500,2000 --seconds 30 [--trigger 1s] [--format delta]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import bench_workspace  # noqa: E402
from lakeward.testing.kafka import KafkaBroker  # noqa: E402


def produce(bootstrap: str, topic: str, rate: int, seconds: float) -> int:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    sent, started = 0, time.monotonic()
    while (elapsed := time.monotonic() - started) < seconds:
        due = int(elapsed * rate)
        while sent < due:
            producer.send(topic, json.dumps({"id": sent, "sent_at": time.time(), "sku": f"s{sent % 97}",
                                             "amount": sent % 1000 / 10}).encode())
            sent += 1
        time.sleep(0.002)
    producer.flush()
    producer.close()
    return sent


def visible_latencies(table: Path) -> list[tuple[float, float]]:
    """(send time, latency) per record: the commit time of the version that first added it - send time (files
    a compaction removed are still on disk: nothing vacuums them during a bench)."""
    import pyarrow.parquet as pq

    added: dict[str, float] = {}
    for entry in sorted((table / "_delta_log").glob("*.json")):
        actions = [json.loads(line) for line in entry.read_text().splitlines() if line.strip()]
        committed = next(a["commitInfo"]["timestamp"] for a in actions if "commitInfo" in a) / 1000
        for a in actions:  # a compaction's files (dataChange false) hold rows visible since their first commit
            if "add" in a and a["add"].get("dataChange", True):
                added[a["add"]["path"]] = committed
    result = []
    for path, committed in added.items():
        for sent in pq.read_table(table / path, columns=["sent_at"]).column("sent_at").to_pylist():
            result.append((sent, committed - sent))
    return sorted(result)


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] if len(values) > 1 else values[0]


def run(rate: int, seconds: float, trigger: str, table_format: str) -> dict:
    with bench_workspace() as work, KafkaBroker() as broker:
        topic = "bench"
        from kafka.admin import KafkaAdminClient, NewTopic

        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
        admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
        admin.close()
        report = work / "report.json"
        consumer = subprocess.Popen(
            [sys.executable, "-m", "lakeward.cli", "stream", "kafka", topic, "--bootstrap-servers", broker.bootstrap,
             "--table", "bench.events", "--lake", str(work / "lake"), "--format", table_format, "--trigger", trigger,
             "--starting-offsets", "latest", "--no-govern", "--report", str(report)],
            cwd=work, stdout=subprocess.DEVNULL, stderr=open(work / "consumer.log", "w"), env=dict(os.environ))
        time.sleep(15)  # Spark's start; the consumer then waits at the tip (latest)
        sent = produce(broker.bootstrap, topic, rate, seconds)
        time.sleep(10)
        consumer.terminate()
        consumer.wait(timeout=180)
        stream_report = json.loads(report.read_text())
        batches = stream_report["batches"]
        points = visible_latencies(work / "lake/bench/events")
    latencies = [latency for _, latency in points]
    third = max(1, len(points) // 3)
    steps: dict[str, list[float]] = {}
    for b in batches:
        for step, value in b["timings"].items():
            steps.setdefault(step, []).append(value)
    return {"rate": rate, "seconds": seconds, "sent": sent, "landed": len(points), "micro_batches": len(batches),
            "p50_s": round(percentile(latencies, 50), 2), "p95_s": round(percentile(latencies, 95), 2),
            "p95_first_third_s": round(percentile([x for _, x in points[:third]], 95), 2),
            "p95_last_third_s": round(percentile([x for _, x in points[-third:]], 95), 2),
            "warm_up_s": stream_report.get("warm_up_s"), "batch_s_median": round(statistics.median(b["duration_s"] for b in batches), 2),
            "first_batches": [(b["rows_read"], b["duration_s"], b["timings"]) for b in batches[:3]],
            "steps_median_s": {k: round(statistics.median(v), 3) for k, v in steps.items()}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="500,2000")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--trigger", default="1s")
    parser.add_argument("--format", default="delta")
    args = parser.parse_args()
    for rate in (int(r) for r in args.rates.split(",")):
        print(json.dumps(run(rate, args.seconds, args.trigger, args.format)), flush=True)


if __name__ == "__main__":
    main()
