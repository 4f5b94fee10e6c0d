"""Athena partition projection declared in the spec: parameters in Glue, no partition registered, queries
still pruned, and rows Athena could never see (outside the declared values or range) quarantined."""
from __future__ import annotations

import pyarrow.dataset as ds
import pytest

from tests.helpers import cli, query, quarantined
from tests.spark.test_ingest_edges import write_jsonl

pytestmark = [pytest.mark.spark, pytest.mark.aws]

SPEC = """
tables:
  web.events:
    source: {source}
    partition_by: dt=date(ts),country
    projection:
      dt: {{type: date, range: "2024-01-01,NOW", format: yyyy-MM-dd, interval: 1, unit: DAYS}}
      country: {{type: enum, values: [de, fr]}}
"""


def test_projected_table_registers_no_partitions_and_quarantines_what_athena_cannot_see(workdir, glue):
    rows = [{"id": i, "ts": f"2024-03-0{1 + i % 3}T10:00:00Z", "country": "de" if i % 2 else "fr"} for i in range(30)]
    rows += [{"id": 100, "ts": "2023-12-31T10:00:00Z", "country": "de"}, {"id": 101, "ts": "2024-03-01T10:00:00Z",
                                                                            "country": "xx"}]
    write_jsonl(workdir / "raw/e.jsonl", rows)
    (workdir / "lakeward.yaml").write_text(SPEC.format(source=workdir / "raw"))
    result = cli("ingest", "--spec", str(workdir / "lakeward.yaml"), "--lake", str(workdir / "lake"), "--no-govern")
    assert result.exit_code == 0, result.output
    table = glue.get_table(DatabaseName="web", Name="events")["Table"]
    params = table["Parameters"]
    assert params["projection.enabled"] == "true" and params["projection.dt.type"] == "date"
    assert params["projection.country.values"] == "de,fr" and params["projection.dt.range"] == "2024-01-01,NOW"
    assert params["storage.location.template"].endswith("/lake/web/events/dt=${dt}/country=${country}")
    assert glue.get_partitions(DatabaseName="web", TableName="events")["Partitions"] == []
    reasons = sorted(q["reason"] for q in quarantined(workdir / "lake", "web", "events"))
    assert reasons == ["partition country=xx is outside the projection declared for country (values de,fr)",
                       "partition dt=2023-12-31 is outside the projection declared for dt (range 2024-01-01,NOW)"]
    assert query("SELECT count(*) AS n FROM web.events WHERE dt = DATE '2024-03-02' AND country = 'de'") == [{"n": 5}]
    # every folder matches the template Athena will fill in
    root = workdir / "lake/web/events"
    dataset = ds.dataset(str(root), format="parquet", partitioning="hive")
    assert dataset.to_table().num_rows == 30
    assert {p.parent.parent.name.split("=")[0] + "/" + p.parent.name.split("=")[0]
            for p in root.rglob("*.parquet") if "_lakeward" not in p.parts} == {"dt/country"}


@pytest.mark.parametrize("extra, spec_tail, message", [
    (["--format", "delta"], "", "partition projection applies to Parquet tables only"),
    (["--mode", "overwrite-partitions"], "", "uses partition projection, which fixes each partition's location"),
    ([], "      hour: {type: integer, range: '0,23'}\n", "Athena projects all partition columns or none"),
])
def test_projection_mistakes_get_clear_messages(workdir, glue, extra, spec_tail, message):
    write_jsonl(workdir / "raw/e.jsonl", [{"id": 1, "ts": "2024-03-01T10:00:00Z", "country": "de"}])
    (workdir / "lakeward.yaml").write_text(SPEC.format(source=workdir / "raw") + spec_tail)
    result = cli("ingest", "--spec", str(workdir / "lakeward.yaml"), "--lake", str(workdir / "lake"), "--no-govern",
                 *extra)
    assert result.exit_code == 2 and message in result.output, result.output


def test_a_projection_spec_error_names_the_key(workdir):
    (workdir / "lakeward.yaml").write_text("tables:\n  a.b:\n    source: raw\n    projection:\n      c: {type: enum}\n")
    result = cli("ingest", "--spec", str(workdir / "lakeward.yaml"))
    assert result.exit_code == 2 and "projection.c: an enum projection needs values" in result.output, result.output
