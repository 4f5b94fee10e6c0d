"""A small heterogeneous raw zone for the demo and the tests, generated deterministically.

Orders from one shop arriving in every shape the pipeline reads: JSON lines (nested customer and
items, two corrupt lines), a JSON array document (amounts as floats where the JSON lines have ints), a
comma CSV with a header and one short row, a semicolon CSV, a TSV, a Parquet file, and a gzip JSON lines
file that brings a column seen in no earlier file (coupon_code).
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

DAYS = ["2024-03-01", "2024-03-02", "2024-03-03"]
COUNTRIES = ["DE", "FR", "US", "JP"]
CITIES = ["Berlin", "Paris", "Austin", "Osaka"]


def _order(n: int, amount: float | int) -> dict:
    return {"orderId": f"o-{n:04d}", "Amount": amount, "Currency": "EUR",
            "Order TS": f"{DAYS[n % 3]}T{8 + n % 10:02d}:{n % 60:02d}:00Z", "Country": COUNTRIES[n % 4]}


def _csv(rows: list[dict], delimiter: str) -> str:
    header = ["Order ID", "Amount", "Currency", "Order TS", "Country"]
    lines = [delimiter.join(header)]
    lines += [delimiter.join([r["orderId"], str(r["Amount"]), r["Currency"], r["Order TS"], r["Country"]])
              for r in rows]
    return "\n".join(lines) + "\n"


def write_sample(root: str | Path) -> dict[str, int]:
    """Write the raw zone under root; returns the number of records per file (corrupt ones included)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}

    lines = []
    for n in range(1, 21):
        record = _order(n, n * 10)
        record["customer"] = {"id": 100 + n, "Full Name": f"Customer {n}",
                              "address": {"City": CITIES[n % 4], "zip": f"{10000 + n}"}}
        record["items"] = [{"SKU": f"sku-{n % 5}", "qty": 1 + n % 3}]
        lines.append(json.dumps(record))
    lines.insert(5, '{"orderId": "o-bad1", "Amount": 5,')  # truncated line
    lines.insert(12, "this is not json")
    (root / "01_orders.jsonl").write_text("\n".join(lines) + "\n")
    counts["01_orders.jsonl"] = len(lines)

    array = [_order(n, n * 10 + 0.5) for n in range(21, 31)]
    (root / "02_orders_array.json").write_text(json.dumps(array, indent=2))
    counts["02_orders_array.json"] = len(array)

    rows = [_order(n, n * 10) for n in range(31, 41)]
    text = _csv(rows, ",").rstrip("\n") + "\no-0041,410,EUR\n"  # a short row: quarantined
    (root / "03_orders.csv").write_text(text)
    counts["03_orders.csv"] = len(rows) + 1

    rows = [_order(n, n * 10) for n in range(42, 50)]
    (root / "04_orders_semicolon.csv").write_text(_csv(rows, ";"))
    counts["04_orders_semicolon.csv"] = len(rows)

    rows = [_order(n, n * 10) for n in range(50, 56)]
    (root / "05_orders.tsv").write_text(_csv(rows, "\t"))
    counts["05_orders.tsv"] = len(rows)

    rows = [_order(n, n * 10) for n in range(56, 66)]
    table = pa.table({"order_id": [r["orderId"] for r in rows], "amount": pa.array([r["Amount"] for r in rows], pa.int32()),
                      "currency": [r["Currency"] for r in rows], "order_ts": [r["Order TS"] for r in rows],
                      "country": [r["Country"] for r in rows]})
    pq.write_table(table, root / "06_orders.parquet")
    counts["06_orders.parquet"] = len(rows)

    rows = [{**_order(n, n * 10), "coupon_code": f"SPRING{n % 3}"} for n in range(66, 76)]
    with gzip.open(root / "07_orders_late.jsonl.gz", "wt") as f:
        f.write("\n".join(json.dumps(r) for r in rows) + "\n")
    counts["07_orders_late.jsonl.gz"] = len(rows)
    return counts
