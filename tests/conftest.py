"""Shared fixtures: one SparkSession for the whole run, one moto server process on a free port."""
from __future__ import annotations

import os
import urllib.request
from pathlib import Path
from typing import Iterator

import boto3
import pytest

from lakeward.runtime.emulator import free_port, start_moto_server


@pytest.fixture(scope="session")
def spark():
    from lakeward.runtime.spark import spark_session

    return spark_session()


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory) -> Iterator[str]:
    """A moto server in its own process (delta-rs must not share its GIL with the server)."""
    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "server.log", "wb")
    process = start_moto_server(port, log)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)
    log.close()


@pytest.fixture
def aws_env(moto_endpoint, monkeypatch) -> Iterator[str]:
    """Environment pointing every AWS client at the moto server, whose state is reset per test."""
    request = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST", data=b"")
    urllib.request.urlopen(request).read()
    for key in list(os.environ):
        if key.startswith("AWS_") or key.startswith("LAKEWARD_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("LAKEWARD_QUERY_ENGINE", "local")  # moto's Athena runs nothing; tests seeding it say so
    yield moto_endpoint


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
