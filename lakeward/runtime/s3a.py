"""Local Spark reaches S3 as Glue 5.1's Spark does: through Hadoop's S3A filesystem, with ``s3://`` mapped to
it, pointed at the endpoint and credentials of the command's AWS context (the embedded emulator, a moto
server, or AWS itself). Inside a Glue job run nothing here is used: Glue configures its own.

hadoop-aws 3.3.4 (the Hadoop of Spark 3.5.6) and the parts of the AWS SDK it loads are fetched by
``./dev.sh setup`` (jars/spark/pom.xml) into the jar cache that local Spark loads.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lakeward.runtime.aws import AwsContext

S3A = "org.apache.hadoop.fs.s3a.S3AFileSystem"
_PROVIDERS = "org.apache.hadoop.fs.s3a"
_IDENTITY = ("fs.s3a.endpoint", "fs.s3a.access.key", "fs.s3a.session.token")
MISSING_HINT = ("local Spark reads and writes s3:// through S3A (hadoop-aws), which is not on its classpath: "
                "run ./dev.sh setup (it fetches jars/spark/pom.xml with mvn) or point LAKEWARD_JAR_CACHE at "
                "the folder that holds spark/hadoop-aws-3.3.4.jar")


def s3a_conf(aws: AwsContext) -> dict[str, str]:
    """The Hadoop settings that point S3A at ``aws``: its endpoint (path-style, as emulators need), its
    region, and the credentials boto3 resolved for it (a profile, SSO or the environment alike)."""
    conf = {"fs.s3.impl": S3A, "fs.s3a.impl": S3A, "fs.s3a.endpoint.region": aws.region}
    if aws.endpoint_url:
        conf.update({"fs.s3a.endpoint": aws.endpoint_url, "fs.s3a.path.style.access": "true",
                     "fs.s3a.connection.ssl.enabled": str(aws.endpoint_url.startswith("https://")).lower()})
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
    """Set ``conf`` on the session's Hadoop configuration; False (nothing set) when S3A is not on the
    classpath. Filesystems Hadoop cached for an earlier endpoint or identity are closed, so the next use
    of a bucket takes the new settings."""
    jvm = session.sparkContext._jvm
    try:
        jvm.java.lang.Class.forName(S3A, False, jvm.java.lang.Thread.currentThread().getContextClassLoader())
    except Exception:  # noqa: BLE001 - py4j raises its own error for the JVM's ClassNotFoundException
        return False
    hadoop = session.sparkContext._jsc.hadoopConfiguration()
    changed = {key: value for key, value in conf.items() if hadoop.get(key) != value}
    if not changed:
        return True
    replaced = any(hadoop.get(key) for key in _IDENTITY if key in changed)
    for key, value in changed.items():
        hadoop.set(key, value)
    if replaced:
        jvm.org.apache.hadoop.fs.FileSystem.closeAll()
    return True
