"""The Glue job's own branch (Job.init before the work, Job.commit after it, an S3 lake required) run here.
Glue's JVM side (GlueContext, Job) exists only in a Glue job run or the Glue Docker image, so these tests put
stand-ins for those two awsglue classes in place; everything of lakeward runs for real."""
from __future__ import annotations

import json

import pytest

from tests.spark.test_ingest_edges import write_jsonl

pytestmark = [pytest.mark.spark, pytest.mark.aws]


class GlueRuntime:
    """What the job asked of Glue's runtime."""

    def __init__(self, spark):
        self.spark = spark
        self.calls: list[tuple] = []

    def install(self, monkeypatch) -> None:
        import awsglue.context
        import awsglue.job

        runtime = self

        class GlueContext:
            def __init__(self, spark_context):
                self.spark_session = runtime.spark

        class Job:
            def __init__(self, context):
                assert isinstance(context, GlueContext)

            def init(self, name, args):
                runtime.calls.append(("init", name, dict(args)))

            def commit(self):
                runtime.calls.append(("commit",))

        monkeypatch.setattr(awsglue.context, "GlueContext", GlueContext)
        monkeypatch.setattr(awsglue.job, "Job", Job)


@pytest.fixture
def glue_runtime(spark, monkeypatch):
    import lakeward.runtime.spark
    from lakeward.runtime.spark import glue_context

    runtime = GlueRuntime(spark)
    runtime.install(monkeypatch)
    glue_context.cache_clear()
    monkeypatch.setattr(lakeward.runtime.spark, "_SESSION", [])  # the job takes Glue's session, as on Glue
    yield runtime
    glue_context.cache_clear()


def test_a_glue_run_inits_the_job_ingests_into_s3_and_commits(workdir, s3_lake, landed, glue_runtime, capsys):
    from glue_jobs.ingest import main

    write_jsonl(workdir / "raw/a.jsonl", [{"id": i, "day": f"2024-01-0{1 + i % 2}"} for i in range(6)])
    status = main(["ingest.py", "--JOB_NAME", "orders-ingest", "--JOB_RUN_ID", "jr_1", "--source",
                   str(workdir / "raw"), "--table", "db.orders", "--lake", s3_lake, "--partition_by", "day",
                   "--govern", "false", "--report", str(workdir / "report.json")])
    assert status == 0, capsys.readouterr().err
    assert [c[0] for c in glue_runtime.calls] == ["init", "commit"]
    from lakeward.runtime.spark import spark_session
    assert spark_session() is glue_runtime.spark  # taken from GlueContext.spark_session
    assert glue_runtime.calls[0][1] == "orders-ingest" and glue_runtime.calls[0][2]["JOB_RUN_ID"] == "jr_1"
    landed.assert_table("db.orders", columns={"id": "bigint", "day": "date"},
                        partitions=[("2024-01-01",), ("2024-01-02",)], rows=6)
    assert landed.table("db.orders")["StorageDescriptor"]["Location"].startswith(s3_lake)
    assert json.loads((workdir / "report.json").read_text())["rows_written"] == 6


def test_a_glue_run_refuses_a_lake_that_is_not_on_s3_and_does_not_commit(workdir, aws_env, glue_runtime, capsys):
    from glue_jobs.ingest import main

    write_jsonl(workdir / "raw/a.jsonl", [{"id": 1}])
    status = main(["ingest.py", "--JOB_NAME", "orders-ingest", "--JOB_RUN_ID", "jr_2", "--source",
                   str(workdir / "raw"), "--table", "db.orders"])
    assert status == 2
    assert "on AWS Glue the lake must be an s3:// URI, got 'lake' (set --lake s3://bucket/prefix)" in \
        capsys.readouterr().err
    assert [c[0] for c in glue_runtime.calls] == ["init"]  # no commit: the run failed


def test_a_glue_run_from_a_spec_names_the_specs_lake(workdir, aws_env, glue_runtime, capsys):
    from glue_jobs.ingest import main

    write_jsonl(workdir / "raw/a.jsonl", [{"id": 1}])
    (workdir / "lakeward.yaml").write_text(f"lake: ./local\ntables:\n  db.t:\n    source: {workdir / 'raw'}\n")
    status = main(["ingest.py", "--JOB_NAME", "j", "--JOB_RUN_ID", "jr_3", "--spec", str(workdir / "lakeward.yaml")])
    assert status == 2
    assert f"(set {workdir / 'lakeward.yaml'}: lake s3://bucket/prefix)" in capsys.readouterr().err
