"""Table schemas and the Glue Data Catalog: types, names, evolution, registration. No Spark here."""
