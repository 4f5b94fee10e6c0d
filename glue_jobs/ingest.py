"""AWS Glue 5.1 batch job: ingest raw files into a governed Parquet or Delta table.

Job parameters: --source (s3:// prefix or file), --table DB.TABLE, and optionally --format parquet|delta,
--partition_by SPEC, --evolution evolve|freeze|rescue, --lake s3://bucket/prefix,
--report s3://.../report.json or a local path.
Locally: ``python glue_jobs/ingest.py --JOB_NAME x --source raw/ --table demo.orders``.
"""
from __future__ import annotations

import os
import sys

from awsglue.utils import getResolvedOptions

REQUIRED = ["JOB_NAME", "source", "table"]
OPTIONAL = {"format": "parquet", "partition_by": "", "lake": "lake", "report": "", "evolution": ""}


def resolve_options(argv: list[str]) -> dict[str, str]:
    present = [k for k in OPTIONAL if any(a == f"--{k}" or a.startswith(f"--{k}=") for a in argv)]
    args = {**OPTIONAL, **getResolvedOptions(argv, REQUIRED + present)}
    return {k: v for k, v in args.items() if v is not None}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    args = resolve_options(argv)
    if args.get("JOB_RUN_ID"):  # Glue passes it to every job run
        os.environ["LAKEWARD_ON_GLUE"] = "1"

    from rich.console import Console

    from lakeward.aws import aws_context
    from lakeward.errors import LakewardError
    from lakeward.pipeline import IngestRequest, run_ingest
    from lakeward.runtime import glue_context, on_glue, spark_session

    job = None
    if on_glue():
        from awsglue.job import Job

        job = Job(glue_context())
        job.init(args["JOB_NAME"], args)
    request = IngestRequest(args["source"], args["table"], args["format"],  # type: ignore[arg-type]
                            args["partition_by"] or None, args["lake"], args["evolution"] or None)  # type: ignore[arg-type]
    try:
        with aws_context() as aws:
            report = run_ingest(spark_session(), aws, request)
            report.print(Console())
            if args["report"].startswith("s3://"):
                from lakeward.storage import Storage

                Storage.for_aws(aws).write_json(args["report"], report.to_dict())
            elif args["report"]:
                report.save(args["report"])
    except LakewardError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if job is not None:
        job.commit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
