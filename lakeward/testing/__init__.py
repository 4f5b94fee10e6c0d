"""pytest plugin for testing Glue jobs locally, as lakeward tests itself (installed with the package, so
its fixtures are there in any test run; `pip install "lakeward[local]"`):

- ``moto_server``: a moto server (Glue, Lake Formation, S3, Kinesis, Athena APIs) in its own process on a
  free port, for the whole run;
- ``aws_env``: every AWS client of the test pointed at it, its state reset, ``LAKEWARD_*`` cleared;
- ``s3_lake``: an ``s3://`` lake root in a fresh bucket of the emulator;
- ``glue_spark``: the local SparkSession a Glue job gets here (Spark 3.5.6, UTC, Glue's Parquet and
  partition-overwrite settings, ``s3://`` through S3A on the moto server, Delta SQL from delta-spark 3.3.2 as
  with ``--datalake-formats delta``), one per run;
- ``kafka_broker``: a real Kafka broker (KRaft) from the jars ``./dev.sh setup`` fetched; skipped without them;
- ``landed``: what a job left behind, read back: the Glue table, its partitions, the Delta log, the rows.
"""
from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from lakeward.testing.landed import Landed

__all__ = ["Landed"]


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto server in its own process (delta-rs must not share its GIL with the server)."""
    from lakeward.runtime.emulator import free_port, start_moto_server

    port = free_port()
    with open(tmp_path_factory.mktemp("moto") / "server.log", "wb") as log:
        process = start_moto_server(port, log)
        yield f"http://127.0.0.1:{port}"
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def aws_env(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The environment of the test points every AWS client at the moto server, whose state is reset."""
    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST", data=b"")
    urllib.request.urlopen(request).read()
    for key in list(os.environ):
        if key.startswith(("AWS_", "LAKEWARD_")):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("LAKEWARD_QUERY_ENGINE", "local")  # moto's Athena runs nothing
    return moto_server


@pytest.fixture
def s3_lake(aws_env: str) -> str:
    import boto3

    boto3.client("s3").create_bucket(Bucket="lakeward-test-lake")
    return "s3://lakeward-test-lake/lake"


@pytest.fixture(scope="session")
def glue_spark(moto_server: str) -> Any:
    """The run's local SparkSession, reaching ``s3://`` on the moto server through S3A, as a Glue job's
    session reaches S3."""
    import boto3

    from lakeward.runtime.aws import AwsContext
    from lakeward.runtime.s3a import point_s3a, s3a_conf
    from lakeward.runtime.spark import spark_session

    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    session = spark_session()
    point_s3a(session, s3a_conf(AwsContext(boto3.Session(region_name="us-east-1", **credentials), moto_server)))
    return session


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[Any]:
    import shutil

    from lakeward.testing.kafka import KafkaBroker, broker_jars

    if not any(broker_jars().glob("kafka_2.13-*.jar")) or not shutil.which("java"):
        pytest.skip(f"a Kafka broker needs java and the broker jars in {broker_jars()} (./dev.sh setup fetches "
                    "them with mvn from jars/kafka-broker/pom.xml)")
    with KafkaBroker() as broker:
        yield broker


@pytest.fixture
def landed(aws_env: str) -> Landed:
    return Landed()
