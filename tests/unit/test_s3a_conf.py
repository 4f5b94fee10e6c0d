"""The S3A settings a command's AWS context gives local Spark, and how they replace an earlier context's.
The JVM side (Hadoop's Configuration, FileSystem's cache) is a stand-in here; the Spark tests run the
real one against the moto server."""
from __future__ import annotations

from types import SimpleNamespace

import boto3
import pytest

from lakeward.runtime.aws import AwsContext
from lakeward.runtime.s3a import S3A, point_s3a, s3a_conf

pytestmark = pytest.mark.unit


def context(endpoint: str | None, token: str | None = None, key: str = "AK") -> AwsContext:
    session = boto3.Session(aws_access_key_id=key, aws_secret_access_key="SK", aws_session_token=token,
                            region_name="eu-west-1")
    return AwsContext(session, endpoint)


class Hadoop:
    """Hadoop's Configuration as py4j shows it: get gives None for a key never set."""

    def __init__(self, values: dict[str, str] | None = None):
        self.values = dict(values or {})

    def get(self, key):
        return self.values.get(key)

    def set(self, key, value):
        self.values[key] = value

    def unset(self, key):
        self.values.pop(key, None)


def session(hadoop: Hadoop, closed: list, has_s3a: bool = True):
    def for_name(name, *_):
        if not has_s3a:
            raise RuntimeError(f"ClassNotFoundException: {name}")

    jvm = SimpleNamespace(java=SimpleNamespace(lang=SimpleNamespace(
        Class=SimpleNamespace(forName=for_name),
        Thread=SimpleNamespace(currentThread=lambda: SimpleNamespace(getContextClassLoader=lambda: None)))),
        org=SimpleNamespace(apache=SimpleNamespace(hadoop=SimpleNamespace(fs=SimpleNamespace(
            FileSystem=SimpleNamespace(closeAll=lambda: closed.append(True)))))))
    context = SimpleNamespace(_jvm=jvm, _jsc=SimpleNamespace(hadoopConfiguration=lambda: hadoop))
    return SimpleNamespace(sparkContext=context)


def test_an_emulator_gets_path_style_plain_http_and_the_resolved_keys(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    conf = s3a_conf(context("http://127.0.0.1:5000"))
    assert conf == {"fs.s3.impl": S3A, "fs.s3a.endpoint.region": "eu-west-1",
                    "fs.s3a.endpoint": "http://127.0.0.1:5000", "fs.s3a.connection.ssl.enabled": "false",
                    "fs.s3a.path.style.access": "true", "fs.s3a.access.key": "AK", "fs.s3a.secret.key": "SK",
                    "fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"}


def test_aws_itself_keeps_s3a_defaults_and_temporary_keys_take_their_provider(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    conf = s3a_conf(context(None, token="TOKEN"))
    assert "fs.s3a.endpoint" not in conf and "fs.s3a.path.style.access" not in conf
    assert conf["fs.s3a.session.token"] == "TOKEN"
    assert conf["fs.s3a.aws.credentials.provider"].endswith(".TemporaryAWSCredentialsProvider")
    fips = s3a_conf(context("https://s3-fips.us-east-1.amazonaws.com"))
    assert fips["fs.s3a.connection.ssl.enabled"] == "true" and "fs.s3a.path.style.access" not in fips


def test_the_s3_specific_endpoint_is_used_when_the_context_names_none(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://minio:9000")
    assert s3a_conf(context(None))["fs.s3a.endpoint"] == "http://minio:9000"
    assert s3a_conf(context("http://127.0.0.1:5000"))["fs.s3a.endpoint"] == "http://127.0.0.1:5000"


def test_a_new_context_replaces_every_setting_of_the_old_one_and_closes_the_cached_filesystems(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    hadoop, closed = Hadoop({"fs.s3a.path.style.access": "false"}), []
    assert point_s3a(session(hadoop, closed), s3a_conf(context("http://127.0.0.1:5000", token="T1")))
    assert hadoop.get("fs.s3a.session.token") == "T1" and not closed  # the first context: nothing cached yet
    assert point_s3a(session(hadoop, closed), s3a_conf(context("http://127.0.0.1:5000", token="T1")))
    assert not closed  # the same context again: nothing changes
    assert point_s3a(session(hadoop, closed), s3a_conf(context(None, key="AK2")))
    assert closed == [True]
    assert hadoop.get("fs.s3a.endpoint") is None and hadoop.get("fs.s3a.path.style.access") is None
    assert hadoop.get("fs.s3a.session.token") is None and hadoop.get("fs.s3a.access.key") == "AK2"


def test_without_the_s3a_jar_nothing_is_set():
    hadoop, closed = Hadoop(), []
    assert not point_s3a(session(hadoop, closed, has_s3a=False), {"fs.s3.impl": S3A})
    assert hadoop.values == {} and not closed
