"""lakeward.testing as a user's test suite sees it: the plugin is loaded by being installed, its fixtures
work in a fresh pytest run (pytester), and its assertions fail with what differs."""
import pytest

pytestmark = pytest.mark.aws

USER_TESTS = '''
import boto3
import pytest


def register(glue, location):
    glue.create_database(DatabaseInput={"Name": "shop"})
    glue.create_table(DatabaseName="shop", TableInput={
        "Name": "orders", "PartitionKeys": [{"Name": "day", "Type": "date"}],
        "StorageDescriptor": {"Columns": [{"Name": "id", "Type": "bigint"}], "Location": location}})
    glue.create_partition(DatabaseName="shop", TableName="orders", PartitionInput={
        "Values": ["2024-01-01"], "StorageDescriptor": {"Location": location + "/day=2024-01-01"}})


def test_fixtures_give_an_emulated_account_and_an_s3_lake(aws_env, s3_lake, landed):
    assert s3_lake.startswith("s3://")
    bucket = s3_lake[5:].split("/")[0]
    assert bucket in [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]
    register(boto3.client("glue"), s3_lake + "/shop/orders")
    landed.assert_table("shop.orders", columns={"id": "bigint", "day": "date"}, partitions=[("2024-01-01",)])


def test_each_test_starts_from_an_empty_account(aws_env):
    assert boto3.client("glue").get_databases()["DatabaseList"] == []


def test_a_wrong_expectation_says_what_landed(aws_env, landed):
    register(boto3.client("glue"), "s3://nowhere/orders")
    landed.assert_table("shop.orders", columns={"id": "string"})
'''


def test_the_plugin_serves_a_users_glue_job_tests(pytester):
    pytester.makepyfile(test_user_job=USER_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*shop.orders: columns {'id': 'bigint', 'day': 'date'} != {'id': 'string'}*"])
