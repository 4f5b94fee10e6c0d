"""The suite's fixtures come from lakeward's own pytest plugin (lakeward.testing: moto_server, aws_env,
s3_lake, glue_spark, kafka_broker, landed), as users' tests get them; the names below are the suite's."""
from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from tests.lakes import LakeDir

pytest_plugins = ["pytester"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--lake-store", choices=("local", "s3"), default="local",
                     help="where tests taking the `lake` fixture keep their lake: a local folder, or an s3:// "
                          "bucket of the moto server (reached by Spark through S3A, as on Glue)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "lake" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.lake)


@pytest.fixture
def lake(request, workdir) -> LakeDir:
    """The test's lake root: local by default, on S3 with --lake-store s3."""
    if request.config.getoption("--lake-store") == "s3":
        return LakeDir(request.getfixturevalue("s3_lake"))
    return LakeDir(workdir / "lake")


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
