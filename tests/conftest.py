"""The suite's fixtures come from lakeward's own pytest plugin (lakeward.testing: moto_server, aws_env,
s3_lake, glue_spark, kafka_broker, landed), as users' tests get them; the names below are the suite's."""
from __future__ import annotations

from pathlib import Path

import boto3
import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(scope="session")
def spark(glue_spark):
    return glue_spark


@pytest.fixture(scope="session")
def moto_endpoint(moto_server) -> str:
    return moto_server


@pytest.fixture
def glue(aws_env):
    return boto3.client("glue", endpoint_url=aws_env, region_name="us-east-1")


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def lakeformation(aws_env):
    return boto3.client("lakeformation", endpoint_url=aws_env, region_name="us-east-1")
