"""Protection of PII columns in the curated table, per the governance spec's ``protect`` policy:
``hash`` (HMAC-SHA256 as 64 hex digits, keyed, computed by Spark on the executors) or ``mask`` (every
character but the last 4 replaced by ``*``). The key comes from an environment variable or AWS Secrets
Manager and is never logged, reported or stored."""
from __future__ import annotations

import hashlib
import os

from pyspark.sql import Column as SparkColumn
from pyspark.sql import functions as F

from catalog import types as C
from catalog.schema import TableDefinition
from lakeformation.classifier import PII_PARAMETER
from lakeformation.spec import GovernanceSpec
from lakeward.aws import AwsContext
from lakeward.errors import GovernanceError

_BLOCK = 64  # SHA-256 block size


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
        return (secret.get("SecretString") or "").encode("utf-8") or secret["SecretBinary"]
    raise GovernanceError(f"governance.hmac_key: {reference!r}: expected env:NAME or secretsmanager:SECRET_ID")


def hmac_sha256(value: SparkColumn, key: bytes) -> SparkColumn:
    """RFC 2104 HMAC-SHA256 of a string column, in Spark expressions: H((K^opad) || H((K^ipad) || m))."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner_pad = F.lit(bytearray(b ^ 0x36 for b in key))
    outer_pad = F.lit(bytearray(b ^ 0x5C for b in key))
    inner = F.unhex(F.sha2(F.concat(inner_pad, F.encode(value, "UTF-8")), 256))
    return F.sha2(F.concat(outer_pad, inner), 256)


def masked(value: SparkColumn) -> SparkColumn:
    """All but the last 4 characters replaced by ``*`` (values of 4 characters or fewer entirely)."""
    return F.when(F.length(value) <= 4, F.regexp_replace(value, "(?s).", "*")).otherwise(
        F.regexp_replace(value, "(?s).(?=.{4})", "*"))


def protections(definition: TableDefinition, spec: GovernanceSpec) -> dict[str, str]:
    """Column -> hash|mask for the table's string columns whose recorded PII entity the policy protects."""
    result = {}
    for column in definition.columns:
        entity = (column.parameters.get(PII_PARAMETER) or "").split(",")[0]
        action = spec.protect.get(entity) if entity else None
        if action is None:
            continue
        if column.type != C.STRING:
            raise GovernanceError(f"governance.protect.{entity}: column {definition.qualified_name}.{column.name} is "
                                  f"{C.to_hive(column.type)}; only string columns can be hashed or masked "
                                  f"(hint it as string)")
        result[column.name] = action
    return result
