"""Protection of PII columns in the curated table, per the governance spec's ``protect`` policy:
``hash`` (HMAC-SHA256 as 64 hex digits, keyed, computed by Spark on the executors) or ``mask`` (every
character but the last 4 replaced by ``*``). The key comes from an environment variable or AWS Secrets
Manager and is never logged, reported or stored."""
from __future__ import annotations

import hashlib
import hmac
import os

from pyspark.sql import Column as SparkColumn
from pyspark.sql import functions as F
from pyspark.sql import types as T

from catalog import types as C
from catalog.schema import TableDefinition
from lakeformation.classifier import PII_PARAMETER
from lakeformation.spec import GovernanceSpec
from lakeward.errors import GovernanceError
from lakeward.runtime.aws import AwsContext


def hmac_key(reference: str, aws: AwsContext) -> bytes:
    """The key named by ``env:NAME`` or ``secretsmanager:SECRET_ID``."""
    kind, _, name = reference.partition(":")
    if kind == "env":
        value = os.environ.get(name)
        if not value:
            raise GovernanceError(f"governance.hmac_key: environment variable {name} is not set")
        return value.encode("utf-8")
    if kind == "secretsmanager":
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            secret = aws.client("secretsmanager").get_secret_value(SecretId=name)
        except (ClientError, BotoCoreError) as e:
            raise GovernanceError(f"governance.hmac_key: cannot read secret {name} from Secrets Manager: "
                                  f"{type(e).__name__}") from None  # the message could echo the request
        key = (secret.get("SecretString") or "").encode("utf-8") or secret.get("SecretBinary") or b""
        if not key:
            raise GovernanceError(f"governance.hmac_key: secret {name} is empty")
        return key
    raise GovernanceError(f"governance.hmac_key: {reference!r}: expected env:NAME or secretsmanager:SECRET_ID")


def hmac_sha256(value: SparkColumn, key: bytes) -> SparkColumn:
    """HMAC-SHA256 (RFC 2104, Python's hmac) of a string column as 64 hex digits. A Python UDF keeps the
    key out of the query plan (explain output, the Spark UI and event logs show only the UDF's name)."""

    def digest(text: str | None) -> str | None:
        return None if text is None else hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()

    return F.udf(digest, T.StringType())(value)


def masked(value: SparkColumn) -> SparkColumn:
    """All but the last 4 characters replaced by ``*`` (values of 4 characters or fewer entirely)."""
    return F.when(F.length(value) <= 4, F.regexp_replace(value, "(?s).", "*")).otherwise(
        F.regexp_replace(value, "(?s).(?=.{4})", "*"))


def protections(definition: TableDefinition, spec: GovernanceSpec) -> dict[str, str]:
    """Column -> hash|mask for the table's string columns whose recorded PII entities (any of them) the
    policy protects (hash wins over mask). Other columns the policy names are listed as skipped, with why:
    only string columns can be hashed or masked."""
    result = {}
    for column in (*definition.columns, *definition.partition_keys):
        entities = [e for e in (column.parameters.get(PII_PARAMETER) or "").split(",") if e]
        actions = {spec.protect[e] for e in entities if e in spec.protect}
        if not actions:
            continue
        if column in definition.partition_keys or column.type != C.STRING:
            where = "a partition column" if column in definition.partition_keys else C.to_hive(column.type)
            result[column.name] = f"skipped: {where}; only string data columns are hashed or masked"
            continue
        result[column.name] = "hash" if "hash" in actions else "mask"
    return result
