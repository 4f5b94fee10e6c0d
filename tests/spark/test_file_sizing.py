"""Files near the target size: measured bytes per row set the records per file."""
import uuid

import pyarrow.parquet as pq
import pytest

from tests.helpers import ingest, query
from tests.spark.test_ingest_edges import write_jsonl

pytestmark = [pytest.mark.spark, pytest.mark.aws]


@pytest.mark.parametrize("partition_by", [None, "part"])
def test_files_come_out_near_the_target_size(workdir, glue, monkeypatch, partition_by):
    target = 64 * 1024
    monkeypatch.setenv("LAKEWARD_TARGET_FILE_MB", str(target / 2**20))
    rows = [{"id": i, "token": uuid.UUID(int=i * 7919 + 1).hex + uuid.uuid4().hex, "part": "ab"[i % 2]}
            for i in range(30_000)]
    for n in range(3):  # several input files, as a raw zone would have
        write_jsonl(workdir / f"raw/{n}.jsonl", rows[n::3])
    extra = ["--partition-by", partition_by] if partition_by else []
    report = ingest(workdir / "raw", "db.sized", workdir / "lake", *extra)
    assert report["rows_written"] == 30_000
    files = [f for f in (workdir / "lake/db/sized").rglob("*.parquet") if "_lakeward" not in f.parts]
    sizes = [f.stat().st_size for f in files]
    total = sum(sizes)
    assert total / target * 0.5 <= len(files) <= total / target * 2 + 2, (len(files), total)
    assert max(sizes) <= 2 * target
    assert sum(pq.ParquetFile(f).metadata.num_rows for f in files) == 30_000
    assert query("SELECT count(DISTINCT id) AS n FROM db.sized") == [{"n": 30_000}]
