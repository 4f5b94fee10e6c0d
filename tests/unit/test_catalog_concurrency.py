"""Optimistic concurrency on Glue UpdateTable. moto does not reject a stale VersionId (see
docs/measured-facts.md), so the conflict is played by botocore's Stubber here."""
import boto3
import pytest
from botocore.stub import Stubber

from catalog import types as C
from catalog.definitions import table_input
from catalog.glue import GlueCatalog
from catalog.schema import CatalogTable, Column, TableDefinition
from lakeward.tables.catalog_sync import sync_catalog

pytestmark = pytest.mark.unit


def test_a_concurrent_update_is_merged_and_retried_without_losing_either_change():
    client = boto3.client("glue", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    base = TableDefinition("db", "t", "parquet", "s3://b/t", (Column("id", C.BIGINT),))
    ours = TableDefinition("db", "t", "parquet", "s3://b/t",
                           (Column("id", C.BIGINT), Column("mine", C.STRING, parameters={"lakeward.raw_names": '["Mine"]'})),
                           parameters={"lakeward.evolution": "evolve"})
    theirs = TableDefinition("db", "t", "parquet", "s3://b/t", (Column("id", C.BIGINT), Column("theirs", C.DATE)),
                             parameters={"owner": "governance"})
    merged = TableDefinition("db", "t", "parquet", "s3://b/t",
                             (Column("id", C.BIGINT), Column("theirs", C.DATE),
                              Column("mine", C.STRING, parameters={"lakeward.raw_names": '["Mine"]'})),
                             parameters={"owner": "governance", "lakeward.evolution": "evolve"})
    with Stubber(client) as stub:  # the table exists: no CreateDatabase
        stub.add_client_error("update_table", "ConcurrentModificationException", http_status_code=400,
                              expected_params={"DatabaseName": "db", "TableInput": table_input(ours), "VersionId": "1"})
        stub.add_response("get_table", {"Table": {**table_input(theirs), "DatabaseName": "db", "VersionId": "2"}},
                          {"DatabaseName": "db", "Name": "t"})
        stub.add_response("update_table", {},
                          {"DatabaseName": "db", "TableInput": table_input(merged), "VersionId": "2"})
        assert sync_catalog(GlueCatalog(client), ours, CatalogTable(base, "1")) is True
        stub.assert_no_pending_responses()


def test_an_unchanged_table_gets_no_new_version():
    client = boto3.client("glue", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    table = TableDefinition("db", "t", "delta", "s3://b/t", (Column("id", C.BIGINT),))
    with Stubber(client) as stub:  # no call at all
        assert sync_catalog(GlueCatalog(client), table, CatalogTable(table, "7")) is False
        stub.assert_no_pending_responses()

