"""The governance spec: LF-tag ontology, classification rules and overrides, safe defaults and grants.

It is the ``governance:`` section of the lakeward spec file (YAML, in git). Without one, DEFAULT applies,
so a plain ingest already classifies and tags. Validation errors name the key (lakeward.spec formats them).

    governance:
      ontology:                          # LF-tag keys and their allowed values
        sensitivity: [public, internal, confidential, pii]
        pii_type: [email, phone_number, ...]
        domain: [sales, hr]
      rules:                             # detected entity -> column tags
        EMAIL: {sensitivity: pii, pii_type: email}
      not_pii: {sensitivity: internal}   # tags of a classified column that holds no PII
      database_tags: {sensitivity: confidential}   # every new table inherits these until classified
      overrides:                         # per dataset: force a column to an entity, or to not PII
        sales.orders.coupon_code: {pii: none, reason: "codes are public"}
        hr.people.badge: {pii: PERSON_NAME, reason: "badges print the name"}
      grants:
        - principal: arn:aws:iam::123456789012:role/analyst
          tags: {sensitivity: [public, internal]}
          permissions: [SELECT, DESCRIBE]
      protect: {EMAIL: hash, PHONE_NUMBER: mask}   # in the curated table
      hmac_key: secretsmanager:lakeward/hmac      # or env:LAKEWARD_HMAC_KEY; never the key itself
"""
from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lakeformation import entities as E

PERMISSIONS = ("SELECT", "DESCRIBE", "INSERT", "DELETE", "ALTER", "DROP", "ALL")
_TAG_TEXT = re.compile(r"^[\w.:/=+\-@ ]{1,128}$")
_PRINCIPAL = re.compile(r"^(arn:aws[\w-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+|\d{12}|IAM_ALLOWED_PRINCIPALS"
                        r"|arn:aws[\w-]*:(quicksight|identitystore|organizations)[\w:/.-]+)$")


class Override(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pii: str  # an entity name, or "none"
    reason: str = Field(min_length=1)

    @field_validator("pii")
    @classmethod
    def _entity(cls, value: str) -> str:
        if value != "none" and value not in E.ALL_ENTITIES:
            raise ValueError(f"{value!r} is not an entity; use none or one of {', '.join(E.ALL_ENTITIES)}")
        return value


class Grant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    principal: str
    tags: dict[str, list[str]] = Field(min_length=1)  # LF-tag expression: every key must match one value
    permissions: list[Literal["SELECT", "DESCRIBE", "INSERT", "DELETE", "ALTER", "DROP", "ALL"]] = Field(
        min_length=1)
    resource: Literal["TABLE", "DATABASE"] = "TABLE"

    @field_validator("principal")
    @classmethod
    def _principal(cls, value: str) -> str:
        if not _PRINCIPAL.match(value):
            raise ValueError(f"{value!r} is not an IAM role/user ARN or account id")
        return value


class GovernanceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ontology: dict[str, list[str]] = Field(min_length=1)
    rules: dict[str, dict[str, str]] = Field(default_factory=dict)
    not_pii: dict[str, str] = Field(default_factory=dict)
    database_tags: dict[str, str] = Field(default_factory=dict)
    overrides: dict[str, Override] = Field(default_factory=dict)
    grants: list[Grant] = Field(default_factory=list)
    protect: dict[str, Literal["hash", "mask"]] = Field(default_factory=dict)  # entity -> protection
    hmac_key: str | None = None  # env:NAME or secretsmanager:SECRET_ID, for protect: hash

    @field_validator("ontology")
    @classmethod
    def _ontology(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for key, values in value.items():
            for text in (key, *values):
                if not _TAG_TEXT.match(text):
                    raise ValueError(f"{key}: {text!r} is not a valid LF-tag key or value")
            if not values or len(set(values)) != len(values):
                raise ValueError(f"{key}: give one or more distinct values")
        return value

    @field_validator("rules", "protect")
    @classmethod
    def _entities(cls, value: dict[str, object]) -> dict[str, object]:
        for entity in value:
            if entity not in E.ALL_ENTITIES:
                raise ValueError(f"{entity!r} is not an entity; use one of {', '.join(E.ALL_ENTITIES)}")
        return value


    @field_validator("hmac_key")
    @classmethod
    def _key_reference(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^(env|secretsmanager):.+$", value):
            raise ValueError("expected env:NAME or secretsmanager:SECRET_ID (never the key itself)")
        return value

    @field_validator("overrides")
    @classmethod
    def _override_keys(cls, value: dict[str, Override]) -> dict[str, Override]:
        for key in value:
            if not re.match(r"^[a-z0-9_]+\.[a-z0-9_]+\.[a-z0-9_]+$", key):
                raise ValueError(f"{key!r}: name a top-level column as DB.TABLE.COLUMN, lowercase, as the catalog "
                                 "names them (LF-tags are per column, so a nested field is overridden through "
                                 "its column)")
        return value

    @model_validator(mode="after")
    def _tags_in_ontology(self) -> GovernanceSpec:
        def check(where: str, tags: dict[str, str | list[str]]) -> None:
            for key, values in tags.items():
                if key not in self.ontology:
                    raise ValueError(f"{where}: tag key {key!r} is not in the ontology ({', '.join(self.ontology)})")
                for v in [values] if isinstance(values, str) else values:
                    if v not in self.ontology[key]:
                        raise ValueError(f"{where}: {key}={v!r} is not an allowed value "
                                         f"({', '.join(self.ontology[key])})")

        for entity, tags in self.rules.items():
            check(f"rules.{entity}", tags)
        check("not_pii", self.not_pii)
        check("database_tags", self.database_tags)
        for i, grant in enumerate(self.grants):
            check(f"grants[{i}]", grant.tags)  # type: ignore[arg-type]
        if "hash" in self.protect.values() and not self.hmac_key:
            raise ValueError("protect: hash needs hmac_key (env:NAME or secretsmanager:SECRET_ID)")
        return self

    def column_tags(self, entity: str | None) -> dict[str, str]:
        """The tags of a classified column: its entity's rule, or not_pii. PII with no rule keeps the
        database's tags, explicitly: it must never end up less protected than an unclassified column."""
        if not entity:
            return dict(self.not_pii)
        return dict(self.rules.get(entity) or self.database_tags)

    def override(self, database: str, table: str, column: str) -> Override | None:
        return self.overrides.get(f"{database}.{table}.{column}")


DEFAULT = GovernanceSpec(
    ontology={"sensitivity": ["public", "internal", "confidential", "pii"],
              "pii_type": [E.tag_value(e) for e in E.ALL_ENTITIES]},
    rules={e: {"sensitivity": "pii", "pii_type": E.tag_value(e)} for e in E.ALL_ENTITIES},
    not_pii={"sensitivity": "internal"},
    database_tags={"sensitivity": "confidential"},
)
