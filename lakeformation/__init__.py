"""Lake Formation governance as code (tags, grants, PII classification): not built yet, see issue 5."""
