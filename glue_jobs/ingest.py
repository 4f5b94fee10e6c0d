"""AWS Glue 5.1 batch job: ingest raw files into a governed Parquet or Delta table.

Job parameters: --source (s3:// prefix or file) and --table DB.TABLE, or --spec s3://.../lakeward.yaml
(every table it declares, or only --table); optionally --format parquet|delta, --partition_by SPEC,
--evolution evolve|freeze|rescue, --hints COL=TYPE[;COL=TYPE...], --govern false (no PII classification or
Lake Formation tagging), --lake s3://bucket/prefix, --mode append|overwrite|overwrite-partitions|merge with
--merge_keys COL[,COL...], --change_column COL and --order_by COL, --batch_id ID (a rerun is a no-op),
--changed_files hold|reingest (a file ingested before whose content changed), --widen auto|rewrite|quarantine
(a type change the table's files cannot follow), --null_values NA;-;n/a (missing-value tokens, NULL in every column),
--dq_ruleset s3://.../orders.dqdl or the DQDL text itself (Rules = [...]) with --dq_default_action quarantine|fail|warn,
--dq_cloudwatch true (rule counts to CloudWatch as Glue Data Quality publishes them),
--report s3://.../report.json or a local path (a list when several tables are ingested).
Locally: ``python glue_jobs/ingest.py --JOB_NAME x --source raw/ --table demo.orders``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from awsglue.utils import getResolvedOptions

REQUIRED = ["JOB_NAME"]
OPTIONAL = {"source": "", "table": "", "spec": "", "format": "", "partition_by": "", "lake": "", "report": "",
            "evolution": "", "hints": "", "govern": "", "changed_files": "", "widen": "", "null_values": "", "dq_ruleset": "", "dq_default_action": "",
            "dq_cloudwatch": "", "mode": "", "merge_keys": "",
            "change_column": "", "order_by": "", "batch_id": ""}


def resolve_options(argv: list[str]) -> dict[str, str]:
    present = [k for k in OPTIONAL if any(a == f"--{k}" or a.startswith(f"--{k}=") for a in argv)]
    args = {**OPTIONAL, **getResolvedOptions(argv, REQUIRED + present)}
    return {k: v for k, v in args.items() if v is not None}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    args = resolve_options(argv)

    from rich.console import Console

    from lakeward.cli.common import failure_message
    from lakeward.errors import LakewardError
    from lakeward.ingest.files import run_ingest
    from lakeward.ingest.request import require_s3_lakes
    from lakeward.runtime.aws import aws_context
    from lakeward.runtime.settings import Settings
    from lakeward.runtime.spark import glue_context, on_glue, spark_session
    from lakeward.runtime.storage import Storage
    from lakeward.spec import ingest_requests, job_flag, with_rules
    from lakeward.tables.write_modes import WriteOptions

    job = None
    try:
        # Glue passes --JOB_RUN_ID to every job run
        settings = Settings.load(on_glue=(True if args.get("JOB_RUN_ID") else None, "--JOB_RUN_ID"))
        if on_glue(settings):
            from awsglue.job import Job

            job = Job(glue_context())
            job.init(args["JOB_NAME"], args)
        with aws_context(settings) as aws:
            storage = Storage.for_aws(aws)
            requests = ingest_requests(storage, source=args["source"] or None, table=args["table"] or None,
                                       spec_path=args["spec"] or None, lake=args["lake"] or None,
                                       default_lake=settings.lake, door="glue",
                                       hints=[h for h in args["hints"].split(";") if h.strip()],
                                       write=WriteOptions(args["mode"] or None,
                                                          tuple(k.strip() for k in args["merge_keys"].split(",") if k.strip()),
                                                          args["change_column"] or None, args["order_by"] or None,
                                                          args["batch_id"] or None),
                                       format=args["format"] or None, partition_by=args["partition_by"] or None,
                                       evolution=args["evolution"] or None,
                                       govern=False if args["govern"].lower() == "false" else None,
                                       changed_files=args["changed_files"] or None, widen=args["widen"] or None,
                                       null_values=tuple(args["null_values"].split(";")) if args["null_values"] else None)
            if on_glue(settings):
                require_s3_lakes(requests)
            cloudwatch = job_flag(args["dq_cloudwatch"], "--dq_cloudwatch")
            if args["dq_ruleset"] or args["dq_default_action"] or cloudwatch:
                requests = [with_rules(r, storage, args["dq_ruleset"], args["dq_default_action"] or None,
                                       ("--dq_ruleset", "--dq_default_action", "--dq_cloudwatch"), cloudwatch)
                            for r in requests]
            reports = []
            for request in requests:
                report = run_ingest(spark_session(settings, aws), aws, request, settings)
                report.print(Console())
                reports.append(report.to_dict())
                document = reports[0] if len(requests) == 1 else reports  # kept if a later table fails
                if args["report"].startswith("s3://"):
                    storage.write_json(args["report"], document)
                elif args["report"]:
                    Path(args["report"]).parent.mkdir(parents=True, exist_ok=True)
                    Path(args["report"]).write_text(json.dumps(document, indent=2, default=str))
    except LakewardError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # Glue fails the run with the traceback; say first what it is and where
        print(failure_message(e), file=sys.stderr)
        raise
    if job is not None:
        job.commit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
