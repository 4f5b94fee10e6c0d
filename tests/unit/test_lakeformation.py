"""Lake Formation paths moto cannot show (per-entry Failures, AlreadyExists, pagination, eventual
consistency), through botocore's Stubber; and the pure plan and access decision."""
import boto3
import pytest
from botocore.stub import Stubber

from lakeformation import lf as lf_module
from lakeformation.access import TableTags, table_access
from lakeformation.lf import LakeFormation, Resource, TagPolicyGrant
from lakeformation.plan import ActualState, GovernedColumn, GovernedTable, plan
from lakeformation.spec import DEFAULT, Override
from lakeward.errors import GovernanceError

pytestmark = pytest.mark.unit
ANALYST = "arn:aws:iam::123456789012:role/analyst"


@pytest.fixture
def stubbed(monkeypatch):
    monkeypatch.setattr(lf_module, "_CONSISTENCY_RETRIES", (0, 0))
    client = boto3.client("lakeformation", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
    with Stubber(client) as stub:
        yield LakeFormation(client), stub
        stub.assert_no_pending_responses()


def test_failures_in_a_batch_response_are_errors_naming_the_tag(stubbed):
    lf, stub = stubbed
    stub.add_response("add_lf_tags_to_resource", {"Failures": [{"LFTag": {"TagKey": "sensitivity", "TagValues": ["pii"]},
                                                               "Error": {"ErrorCode": "AccessDeniedException",
                                                                         "ErrorMessage": "no grantable permission"}}]})
    with pytest.raises(GovernanceError, match="assign LF-tags to db.t columns email: 1 failed, first sensitivity: "
                                              "AccessDeniedException no grantable permission"):
        lf.assign(Resource("db", "t", ("email",)), {"sensitivity": "pii"})


def test_a_tag_created_by_another_writer_meanwhile_gets_the_missing_values(stubbed):
    lf, stub = stubbed
    stub.add_client_error("create_lf_tag", "AlreadyExistsException")
    stub.add_response("list_lf_tags", {"LFTags": [{"TagKey": "sensitivity", "TagValues": ["public"]}]})
    stub.add_response("update_lf_tag", {}, {"TagKey": "sensitivity", "TagValuesToAdd": ["pii"]})
    lf.create_tag("sensitivity", ["public", "pii"])


def test_a_just_created_tag_not_visible_yet_is_retried(stubbed):
    lf, stub = stubbed
    stub.add_client_error("add_lf_tags_to_resource", "EntityNotFoundException")
    stub.add_response("add_lf_tags_to_resource", {"Failures": []})
    lf.assign(Resource("db"), {"sensitivity": "confidential"})


def test_grants_are_read_across_pages_and_only_tag_policies_kept(stubbed):
    lf, stub = stubbed
    policy = {"LFTagPolicy": {"ResourceType": "TABLE", "Expression": [{"TagKey": "s", "TagValues": ["a"]}]}}
    stub.add_response("list_permissions", {"PrincipalResourcePermissions": [
        {"Principal": {"DataLakePrincipalIdentifier": ANALYST}, "Resource": policy, "Permissions": ["SELECT"]},
        {"Principal": {"DataLakePrincipalIdentifier": ANALYST}, "Resource": {"Database": {"Name": "db"}},
         "Permissions": ["DESCRIBE"]}], "NextToken": "t2"})
    stub.add_response("list_permissions", {"PrincipalResourcePermissions": [
        {"Principal": {"DataLakePrincipalIdentifier": "123456789012"}, "Resource": policy, "Permissions": ["ALL"]}]},
        {"NextToken": "t2"})
    assert [g.principal for g in lf.tag_policy_grants()] == [ANALYST, "123456789012"]


def test_access_denied_names_what_to_fix(stubbed):
    lf, stub = stubbed
    stub.add_client_error("list_lf_tags", "AccessDeniedException", "User is not authorized")
    with pytest.raises(GovernanceError, match="list LF-tags: access denied; the caller needs to be a Lake Formation"):
        lf.tags()


def _table(**params):
    return GovernedTable("db", "t", tuple(GovernedColumn(n, p) for n, p in params.items()))


def test_plan_tags_classified_columns_only_and_reports_drift():
    table = _table(email={"pii": "EMAIL", "lakeward.classified": "true"}, qty={"lakeward.classified": "true"},
                   fresh={})
    actual = ActualState(tags={"sensitivity": ["public", "internal", "confidential", "pii", "secret"]},
                         database_tags={"db": {"sensitivity": ["confidential"]}},
                         column_tags={("db", "t"): {"qty": {"sensitivity": ["internal"]},
                                                    "fresh": {"owner": ["x"]}}},
                         grants=[TagPolicyGrant.of(ANALYST, "TABLE", {"sensitivity": ["pii"]}, ["SELECT"])])
    result = plan(DEFAULT, [table], actual)
    assert result.create_tags == {"pii_type": list(DEFAULT.ontology["pii_type"])}
    assert [(str(r), t) for r, t in result.assignments] == [
        ("db.t columns email", {"sensitivity": "pii", "pii_type": "email"})]
    assert result.extra_tag_values == {"sensitivity": ["secret"]}
    assert [(str(r), t) for r, t in result.unassignments] == [("db.t columns fresh", {"owner": ["x"]})]
    assert [g.describe() for g in result.revokes] == [f"{ANALYST}: SELECT on tables where sensitivity IN (pii)"]


def test_access_follows_tag_inheritance_and_column_overrides():
    grants = [TagPolicyGrant.of(ANALYST, "TABLE", {"sensitivity": ["public", "internal"]}, ["SELECT"]),
              TagPolicyGrant.of(ANALYST, "DATABASE", {"sensitivity": ["confidential"]}, ["DESCRIBE"])]
    tags = TableTags("db", "t", {"sensitivity": ["confidential"]}, {"domain": ["sales"]},
                     {"email": {"sensitivity": ["pii"]}, "qty": {"sensitivity": ["internal"]}, "fresh": {}})
    decision = table_access(ANALYST, grants, tags)
    assert (decision.readable, decision.hidden) == (("qty",), ("email", "fresh"))
    table_level = TableTags("db", "t", {"sensitivity": ["confidential"]}, {"sensitivity": ["public"]}, {"fresh": {}})
    assert table_access(ANALYST, grants, table_level).readable == ("fresh",)  # the table's tag overrides the db's
    assert table_access("arn:aws:iam::123456789012:role/other", grants, tags).readable == ()


def test_a_classified_column_loses_keys_its_tags_do_not_name_and_pii_without_a_rule_stays_confidential():
    from lakeformation.spec import GovernanceSpec

    spec = GovernanceSpec(ontology={"sensitivity": ["internal", "confidential", "pii"], "audience": ["all"]},
                          rules={"EMAIL": {"sensitivity": "pii"}}, not_pii={"sensitivity": "internal"},
                          database_tags={"sensitivity": "confidential"})
    table = _table(phone={"pii": "PHONE_NUMBER", "lakeward.classified": "true"},
                   email={"pii": "EMAIL", "lakeward.classified": "true"})
    actual = ActualState(tags=dict(spec.ontology), database_tags={"db": {"sensitivity": ["confidential"]}},
                         column_tags={("db", "t"): {"phone": {"sensitivity": ["internal"]},
                                                    "email": {"sensitivity": ["internal"], "audience": ["all"]}}},
                         grants=[], table_tags={("db", "t"): {"audience": ["all"]}})
    result = plan(spec, [table], actual)
    assert [(str(r), t) for r, t in result.assignments] == [
        ("db.t columns phone", {"sensitivity": "confidential"}), ("db.t columns email", {"sensitivity": "pii"})]
    assert [(str(r), t) for r, t in result.removals] == [("db.t columns email", {"audience": ["all"]})]
    assert [(str(r), t) for r, t in result.unassignments] == [("db.t", {"audience": ["all"]})]  # drift


def test_named_grants_and_iam_allowed_principals_count_in_access():
    from lakeformation.lf import NamedGrant

    tags = TableTags("db", "t", {"sensitivity": ["confidential"]}, {}, {"email": {"sensitivity": ["pii"]}, "qty": {}})
    everyone = NamedGrant("IAM_ALLOWED_PRINCIPALS", "db", "t", None, (), frozenset({"ALL"}))
    assert table_access(ANALYST, [], tags, [everyone]).readable == ("email", "qty")
    columns = NamedGrant(ANALYST, "db", "t", None, ("email",), frozenset({"SELECT"}))
    assert table_access(ANALYST, [], tags, [columns]).readable == ("qty",)
    describe = NamedGrant(ANALYST, "db", None, None, (), frozenset({"DESCRIBE"}))
    assert table_access(ANALYST, [], tags, [describe]).readable == ()


def test_a_doubtful_column_keeps_the_database_tags_and_is_listed_for_review():
    table = _table(reach={"lakeward.classified": "true", "lakeward.pii_doubt": "PHONE_NUMBER: 30% validate"},
                   qty={"lakeward.classified": "true"})
    actual = ActualState(tags=dict(DEFAULT.ontology), database_tags={"db": {"sensitivity": ["confidential"]}},
                         column_tags={("db", "t"): {"reach": {"sensitivity": ["internal"]},
                                                    "qty": {"sensitivity": ["internal"]}}}, grants=[])
    result = plan(DEFAULT, [table], actual)
    assert [(str(r), t) for r, t in result.assignments] == [("db.t columns reach", {"sensitivity": "confidential"})]
    assert [line for line in result.lines() if line.startswith("?")] == [
        "? review db.t.reach: PHONE_NUMBER: 30% validate; it keeps the database's tags until an override in the "
        "spec says what it holds"]
    overridden = DEFAULT.model_copy(update={"overrides": {"db.t.reach": Override(pii="none", reason="extensions")}})
    result = plan(overridden, [table], actual)
    assert result.review == [] and not [a for a in result.assignments if str(a[0]) == "db.t columns reach"]
