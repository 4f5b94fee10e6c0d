"""Governance as code, engine-free (boto3 clients come in as arguments; only lakeward.errors is shared):
PII entities and the column classifier, the governance spec, Lake Formation tags and grants, the plan that
compares the spec with Lake Formation, and the access decision for a principal."""
