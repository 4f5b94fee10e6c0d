"""Lake Formation through boto3: LF-tags, tag assignments and LF-tag policy grants, with every batch
response's Failures checked, pagination followed, eventual consistency waited out, and botocore errors
translated into GovernanceError naming the tag, resource or principal."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lakeward.errors import GovernanceError

Tags = dict[str, list[str]]
_CONSISTENCY_RETRIES = (0.5, 1.0, 2.0)  # a tag created a moment ago may not be visible to the next call yet


@dataclass(frozen=True)
class Resource:
    """A database, a table, or columns of a table."""

    database: str
    table: str | None = None
    columns: tuple[str, ...] = ()

    def api(self) -> dict[str, Any]:
        if self.table is None:
            return {"Database": {"Name": self.database}}
        if self.columns:
            return {"TableWithColumns": {"DatabaseName": self.database, "Name": self.table,
                                         "ColumnNames": list(self.columns)}}
        return {"Table": {"DatabaseName": self.database, "Name": self.table}}

    def __str__(self) -> str:
        base = self.database + (f".{self.table}" if self.table else "")
        return base + (f" columns {', '.join(self.columns)}" if self.columns else "")


@dataclass(frozen=True)
class TagPolicyGrant:
    principal: str
    resource_type: str  # TABLE | DATABASE
    expression: tuple[tuple[str, tuple[str, ...]], ...]  # sorted (key, sorted values)
    permissions: frozenset[str]

    @staticmethod
    def of(principal: str, resource_type: str, tags: Tags, permissions: Any) -> TagPolicyGrant:
        expression = tuple(sorted((k, tuple(sorted(v))) for k, v in tags.items()))
        return TagPolicyGrant(principal, resource_type, expression, frozenset(permissions))

    @property
    def key(self) -> tuple[str, str, tuple]:
        return self.principal, self.resource_type, self.expression

    def describe(self) -> str:
        tags = " AND ".join(f"{k} IN ({', '.join(v)})" for k, v in self.expression)
        return f"{self.principal}: {', '.join(sorted(self.permissions))} on {self.resource_type.lower()}s where {tags}"


@dataclass(frozen=True)
class NamedGrant:
    """A grant on a named table (``table`` None: every table of the database) or on its columns
    (``columns`` None: all of them but ``excluded``)."""

    principal: str
    database: str
    table: str | None
    columns: tuple[str, ...] | None
    excluded: tuple[str, ...]
    permissions: frozenset[str]

    def covers(self, database: str, table: str, column: str) -> bool:
        return (self.database == database and self.table in (None, table)
                and (column in self.columns if self.columns is not None else column not in self.excluded))


class LakeFormation:
    def __init__(self, client: Any, catalog_id: str | None = None):
        self.client = client
        self.catalog = {"CatalogId": catalog_id} if catalog_id else {}

    def _call(self, what: str, fn: Callable[..., Any], retry_not_found: bool = False, **kwargs: Any) -> Any:
        delays = list(_CONSISTENCY_RETRIES) if retry_not_found else []
        while True:
            try:
                return fn(**self.catalog, **kwargs)
            except ClientError as e:
                code = e.response.get("Error", {}).get("Code", "")
                if code in ("EntityNotFoundException", "ConcurrentModificationException") and delays:
                    time.sleep(delays.pop(0))
                    continue
                raise _translate(what, e) from e
            except BotoCoreError as e:
                raise GovernanceError(f"{what}: {e}") from e

    def _pages(self, what: str, operation: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        token = None
        while True:
            page = self._call(what, getattr(self.client, operation), **kwargs, **({"NextToken": token} if token else {}))
            yield from page.get(key, [])
            token = page.get("NextToken")
            if not token:
                return

    # --- LF-tags -----------------------------------------------------------------------------------
    def tags(self) -> Tags:
        return {t["TagKey"]: list(t["TagValues"]) for t in self._pages("list LF-tags", "list_lf_tags", "LFTags")}

    def create_tag(self, key: str, values: list[str]) -> None:
        """Create an LF-tag; when another writer created it meanwhile, add the values it lacks instead."""
        try:
            self.client.create_lf_tag(**self.catalog, TagKey=key, TagValues=values)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") != "AlreadyExistsException":
                raise _translate(f"create LF-tag {key}", e) from e
            current = {k: v for k, v in self.tags().items() if k == key}.get(key, [])
            missing = [v for v in values if v not in current]
            if missing:
                self.add_tag_values(key, missing)
        except BotoCoreError as e:
            raise GovernanceError(f"create LF-tag {key}: {e}") from e

    def add_tag_values(self, key: str, values: list[str]) -> None:
        self._call(f"add values to LF-tag {key}", self.client.update_lf_tag, retry_not_found=True, TagKey=key,
                   TagValuesToAdd=values)

    def remove_tag_values(self, key: str, values: list[str]) -> None:
        self._call(f"remove values from LF-tag {key}", self.client.update_lf_tag, TagKey=key,
                   TagValuesToDelete=values)

    def delete_tag(self, key: str) -> None:
        self._call(f"delete LF-tag {key}", self.client.delete_lf_tag, TagKey=key)

    # --- assignments -------------------------------------------------------------------------------
    def assigned(self, resource: Resource) -> dict[str, Tags]:
        """Tags assigned directly to the resource: {"": tags} for a database or table, {column: tags} for
        columns (inherited tags are not included)."""
        response = self._call(f"read LF-tags of {resource}", self.client.get_resource_lf_tags,
                              Resource=resource.api(), ShowAssignedLFTags=True)
        if resource.table is None:
            return {"": _tags(response.get("LFTagOnDatabase", []))}
        if not resource.columns:
            return {"": _tags(response.get("LFTagsOnTable", []))}
        return {c["Name"]: _tags(c.get("LFTags", [])) for c in response.get("LFTagsOnColumns", [])}

    def table_tags(self, database: str, table: str, columns: list[str],
                   with_database: bool = True) -> tuple[Tags, Tags, dict[str, Tags]]:
        """(database tags, table tags, column -> tags), each as assigned at its own level, in one call on the
        table's columns (Lake Formation answers with all three levels)."""
        response = self._call(f"read LF-tags of {database}.{table}", self.client.get_resource_lf_tags,
                              Resource=Resource(database, table, tuple(columns)).api(), ShowAssignedLFTags=True)
        columns_tags = {c["Name"]: _tags(c.get("LFTags", [])) for c in response.get("LFTagsOnColumns") or []}
        if not with_database:
            return {}, _tags(response.get("LFTagsOnTable") or []), columns_tags
        if "LFTagOnDatabase" in response:
            database_tags = _tags(response["LFTagOnDatabase"])
        else:  # an endpoint that answers for the columns only (moto): ask the database itself
            database_tags = self.assigned(Resource(database))[""]
        return database_tags, _tags(response.get("LFTagsOnTable") or []), columns_tags

    def assign(self, resource: Resource, tags: dict[str, str]) -> None:
        """Assign one value per key (a key already on the resource takes the new value). All of a resource's
        keys go in one call."""
        if not tags:
            return
        response = self._call(f"assign LF-tags to {resource}", self.client.add_lf_tags_to_resource,
                              retry_not_found=True, Resource=resource.api(),
                              LFTags=[{"TagKey": k, "TagValues": [v]} for k, v in sorted(tags.items())])
        _check_failures(f"assign LF-tags to {resource}", response)

    def unassign(self, resource: Resource, tags: Tags) -> None:
        if not tags:
            return
        response = self._call(f"remove LF-tags from {resource}", self.client.remove_lf_tags_from_resource,
                              Resource=resource.api(),
                              LFTags=[{"TagKey": k, "TagValues": v} for k, v in sorted(tags.items())])
        _check_failures(f"remove LF-tags from {resource}", response)

    # --- grants ------------------------------------------------------------------------------------
    def grants(self) -> tuple[list[TagPolicyGrant], list[NamedGrant]]:
        """Every LF-tag policy grant, and every grant on named tables or columns (those give access whatever
        the tags say), from one listing (list_permissions cannot filter on tag policies: all are listed)."""
        policies, named = [], []
        for p in self._pages("list permissions", "list_permissions", "PrincipalResourcePermissions"):
            resource, principal = p.get("Resource", {}), p["Principal"]["DataLakePrincipalIdentifier"]
            permissions = frozenset(p.get("Permissions", []))
            policy = resource.get("LFTagPolicy")
            if policy is not None and "Expression" in policy:  # named expressions (ExpressionName) are not read
                policies.append(TagPolicyGrant.of(principal, policy["ResourceType"],
                                                  {e["TagKey"]: e["TagValues"] for e in policy["Expression"]},
                                                  permissions))
            elif "Table" in resource:
                t = resource["Table"]
                named.append(NamedGrant(principal, t["DatabaseName"], t.get("Name"), None, (), permissions))
            elif "TableWithColumns" in resource:
                t = resource["TableWithColumns"]
                wildcard = t.get("ColumnWildcard")
                named.append(NamedGrant(principal, t["DatabaseName"], t.get("Name"),
                                        None if wildcard is not None else tuple(t.get("ColumnNames", [])),
                                        tuple((wildcard or {}).get("ExcludedColumnNames", [])), permissions))
        return policies, named

    def tag_policy_grants(self) -> list[TagPolicyGrant]:
        return self.grants()[0]

    def _policy(self, grant: TagPolicyGrant) -> dict[str, Any]:
        return {"Principal": {"DataLakePrincipalIdentifier": grant.principal},
                "Resource": {"LFTagPolicy": {**self.catalog, "ResourceType": grant.resource_type, "Expression": [
                    {"TagKey": k, "TagValues": list(v)} for k, v in grant.expression]}},
                "Permissions": sorted(grant.permissions)}

    def grant(self, grant: TagPolicyGrant) -> None:
        self._call(f"grant {grant.describe()}", self.client.grant_permissions, retry_not_found=True,
                   **self._policy(grant))

    def revoke(self, grant: TagPolicyGrant) -> None:
        self._call(f"revoke {grant.describe()}", self.client.revoke_permissions, **self._policy(grant))


def _translate(what: str, e: ClientError) -> GovernanceError:
    code = e.response.get("Error", {}).get("Code", "")
    if code == "AccessDeniedException":
        return GovernanceError(f"{what}: access denied; the caller needs to be a Lake Formation administrator or "
                               f"hold grantable permissions ({e})")
    return GovernanceError(f"{what}: {code or 'error'}: {e}")


def _tags(entries: list[dict[str, Any]]) -> Tags:
    return {e["TagKey"]: list(e["TagValues"]) for e in entries}


def _check_failures(what: str, response: dict[str, Any]) -> None:
    failures = response.get("Failures") or []
    if failures:
        first = failures[0]
        error = first.get("Error", {})
        raise GovernanceError(f"{what}: {len(failures)} failed, first {first.get('LFTag', {}).get('TagKey', '?')}: "
                              f"{error.get('ErrorCode', '')} {error.get('ErrorMessage', '')}".strip())
