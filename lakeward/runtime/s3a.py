"""Local Spark reaches S3 as Glue 5.1's Spark does: through Hadoop's S3A filesystem, with ``s3://`` mapped to
it, pointed at the endpoint and credentials of the command's AWS context (the embedded emulator, a moto
server, or AWS itself). Inside a Glue job run nothing here is used (Glue configures its own S3 access),
unless ``LAKEWARD_SPARK_S3A=true`` asks for it: the Glue Docker image run against an emulator.

hadoop-aws 3.3.4 (the Hadoop of Spark 3.5.6) and the parts of the AWS SDK it loads are fetched by
``./dev.sh setup`` (jars/spark/pom.xml) into the jar cache that local Spark loads. Not among them: STS
(so no assumed-role provider inside S3A; boto3 resolves roles and hands S3A the result) and CBOR.

Credentials are the ones boto3 resolved when the command started. Temporary ones (SSO, an assumed role)
are not refreshed inside S3A: a local stream against AWS that outlives them needs restarting.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

if TYPE_CHECKING:
    from lakeward.runtime.aws import AwsContext

S3A = "org.apache.hadoop.fs.s3a.S3AFileSystem"
_PROVIDERS = "org.apache.hadoop.fs.s3a"
# Every key this module sets: a key the new context does not need is unset, so nothing of an earlier
# endpoint or identity survives it.
MANAGED = ("fs.s3.impl", "fs.s3a.endpoint.region", "fs.s3a.endpoint", "fs.s3a.path.style.access",
           "fs.s3a.connection.ssl.enabled", "fs.s3a.access.key", "fs.s3a.secret.key", "fs.s3a.session.token",
           "fs.s3a.aws.credentials.provider")
MISSING_HINT = ("local Spark reads and writes s3:// through S3A (hadoop-aws), which is not on its classpath: "
                "run ./dev.sh setup (it fetches jars/spark/pom.xml with mvn) or point LAKEWARD_JAR_CACHE at "
                "the folder that holds spark/hadoop-aws-3.3.4.jar")


def s3_endpoint(aws: AwsContext) -> str | None:
    """The S3 endpoint lakeward's own S3 client uses: the context's, else ``AWS_ENDPOINT_URL_S3`` (which
    botocore reads when no endpoint is given), else None for AWS's own."""
    return aws.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or None


def s3a_conf(aws: AwsContext) -> dict[str, str]:
    """The Hadoop settings that point S3A at ``aws``: its endpoint (path-style off AWS, as emulators need),
    its region, and the credentials boto3 resolved for it (a profile, SSO or the environment alike)."""
    conf = {"fs.s3.impl": S3A, "fs.s3a.endpoint.region": aws.region}
    endpoint = s3_endpoint(aws)
    if endpoint:
        conf["fs.s3a.endpoint"] = endpoint
        conf["fs.s3a.connection.ssl.enabled"] = str(endpoint.startswith("https://")).lower()
        if not (urlparse(endpoint).hostname or "").endswith(".amazonaws.com"):
            conf["fs.s3a.path.style.access"] = "true"
    credentials = aws.session.get_credentials()
    if credentials is not None:
        frozen = credentials.get_frozen_credentials()
        conf.update({"fs.s3a.access.key": frozen.access_key, "fs.s3a.secret.key": frozen.secret_key})
        if frozen.token:
            conf.update({"fs.s3a.session.token": frozen.token,
                         "fs.s3a.aws.credentials.provider": f"{_PROVIDERS}.TemporaryAWSCredentialsProvider"})
        else:
            conf["fs.s3a.aws.credentials.provider"] = f"{_PROVIDERS}.SimpleAWSCredentialsProvider"
    return conf


def point_s3a(session: Any, conf: dict[str, str]) -> bool:
    """Make the session's Hadoop configuration say exactly ``conf`` for the keys this module manages; False
    (nothing set) when S3A is not on the classpath. When it changes a setting made earlier in this process
    (another endpoint or identity), Hadoop's cached filesystems are closed, so the next use of a bucket
    takes the new settings: one AWS context per command, so no stream is running then."""
    jvm = session.sparkContext._jvm
    try:
        jvm.java.lang.Class.forName(S3A, False, jvm.java.lang.Thread.currentThread().getContextClassLoader())
    except Exception:  # noqa: BLE001 - py4j raises its own error for the JVM's ClassNotFoundException
        return False
    hadoop = session.sparkContext._jsc.hadoopConfiguration()
    before = {key: hadoop.get(key) for key in MANAGED}
    if before["fs.s3.impl"] == S3A and all(before[key] == conf.get(key) for key in MANAGED):
        return True
    for key in MANAGED:
        if key in conf:
            hadoop.set(key, conf[key])
        elif before[key] is not None:
            hadoop.unset(key)
    if before["fs.s3.impl"] == S3A:  # set by an earlier context of this process
        jvm.org.apache.hadoop.fs.FileSystem.closeAll()
    return True

