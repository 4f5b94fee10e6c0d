"""The wheel Glue installs (--additional-python-modules lakeward) brings neither Spark nor a second awsglue,
and replaces none of the modules Glue 5.1 provides (glue/glue-5.1-provided.txt, from the AWS Glue
documentation): pip resolves its requirements with those modules pinned to Glue's versions."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

pytestmark = pytest.mark.network

ROOT = Path(__file__).parents[2]
GLUE_PROVIDED = ROOT / "glue" / "glue-5.1-provided.txt"
GLUE_RUNTIME = {"pyspark", "py4j", "awsglue", "awsgluedataplanepython", "moto"}  # Glue's own, or local only


def glue_modules() -> dict[str, str]:
    pins = [Requirement(line) for line in GLUE_PROVIDED.read_text().splitlines() if line and not line.startswith("#")]
    return {r.name.lower().replace("_", "-"): next(iter(r.specifier)).version for r in pins}


def resolve(requirements: list[str], report: Path) -> subprocess.CompletedProcess:
    constraints = [line for line in GLUE_PROVIDED.read_text().splitlines()
                   if line and not line.startswith(("#", "pip==", "setuptools=="))]
    pinned = report.with_suffix(".constraints.txt")
    pinned.write_text("\n".join(constraints) + "\n")
    return subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                           "--report", str(report), "-c", str(pinned), *requirements],
                          capture_output=True, text=True, timeout=600)


def test_the_wheel_needs_nothing_glue_provides_in_another_version(tmp_path):
    """What `pip install lakeward` would install, resolved from this source tree (not the installed
    metadata) with Glue's modules pinned: it resolves (nothing Glue ships is replaced), and nothing of
    Glue's own runtime comes along, directly or through a dependency."""
    result = resolve([str(ROOT)], tmp_path / "report.json")
    assert result.returncode == 0, result.stderr  # a conflict: pip would replace a module Glue ships
    installed = {i["metadata"]["name"].lower().replace("_", "-")
                 for i in json.loads((tmp_path / "report.json").read_text())["install"]}
    assert "lakeward" in installed and not installed & GLUE_RUNTIME, installed
    assert {"boto3", "pyarrow", "pandas", "numpy"} <= installed & set(glue_modules())


def test_a_requirement_newer_than_glue_provides_is_caught(tmp_path):
    newer = int(glue_modules()["pyarrow"].split(".")[0]) + 1
    result = resolve([f"pyarrow>={newer}"], tmp_path / "report.json")
    assert result.returncode != 0 and "pyarrow" in result.stderr
