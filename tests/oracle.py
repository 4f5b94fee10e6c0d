"""An independent reading of the sample raw zone with the standard library and pyarrow: what the
table must contain. It shares no code with lakeward."""
from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq


def _rows(path: Path) -> list[dict]:
    name = path.name
    if name.endswith(".parquet"):
        return [{"order_id": r["order_id"], "amount": r["amount"], "order_ts": r["order_ts"]}
                for r in pq.read_table(path).to_pylist()]
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt") as f:
        text = f.read()
    if name.endswith(".json"):
        records = json.loads(text)
    elif ".jsonl" in name:
        records = []
        for line in text.splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    else:
        delimiter = {".csv": ",", ".tsv": "\t"}[path.suffix]
        if "semicolon" in name:
            delimiter = ";"
        reader = list(csv.reader(text.splitlines(), delimiter=delimiter))
        header = reader[0]
        records = [dict(zip(header, r)) for r in reader[1:] if len(r) == len(header)]
        records = [{"orderId": r["Order ID"], "Amount": float(r["Amount"]), "Order TS": r["Order TS"]} for r in records]
    return [{"order_id": r["orderId"], "amount": float(r["Amount"]), "order_ts": r["Order TS"]} for r in records]


def expected_rows(raw: Path) -> list[dict]:
    return [row for path in sorted(raw.iterdir()) for row in _rows(path)]


def per_day(rows: list[dict]) -> dict[str, tuple[int, float]]:
    out: dict[str, list] = {}
    for r in rows:
        entry = out.setdefault(r["order_ts"][:10], [0, 0.0])
        entry[0] += 1
        entry[1] += r["amount"]
    return {k: (v[0], round(v[1], 2)) for k, v in sorted(out.items())}
