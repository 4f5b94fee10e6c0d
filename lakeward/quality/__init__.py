"""Data quality as code: DQDL rules (AWS Glue Data Quality's language) parsed and evaluated by lakeward."""
