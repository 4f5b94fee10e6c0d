"""The layout's rules, checked on the source: no import cycles between our modules, and the engine-free
parts (spec validation, catalog/, lakeformation/) import no Spark."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("lakeward", "catalog", "lakeformation")


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Our modules this one imports at import time (imports inside functions are deferred on purpose)."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        found |= {n for n in names if n in modules}
    return found


def test_no_import_cycles():
    files = {_module(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    graph = {m: _imports(p, set(files)) - {m} for m, p in files.items()}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for dep in sorted(graph[module]):
            if state.get(dep) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(dep):] + [dep]))
            if dep not in state:
                visit(dep)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


@pytest.mark.parametrize("module", ["lakeward.spec", "catalog.glue", "catalog.evolution", "catalog.annotations",
                                    "lakeformation.plan", "lakeward.ingest.request", "lakeward.runtime.settings",
                                    "lakeward.cli"])
def test_engine_free_modules_import_no_spark(module):
    code = f"import sys, {module}; sys.exit(1 if any(m.split('.')[0] == 'pyspark' for m in sys.modules) else 0)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0, f"{module} imports pyspark"


def test_the_core_is_entered_only_through_its_front_doors():
    """Helpers do not live in the core: only the front doors import it, and no module pulls in more than a
    couple of dozen of ours (the old pipeline module imported 26 and was imported for small helpers)."""
    files = {_module(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    ours = set(files)
    importers = {m for m, p in files.items() if "lakeward.ingest.table_writer" in _imports(p, ours)}
    assert importers <= {"lakeward.ingest.files", "lakeward.ingest.frames", "lakeward.ingest.rows",
                         "lakeward.streaming.micro_batch"}
    for module, path in files.items():
        assert len(_imports(path, ours)) <= 24, f"{module} imports {len(_imports(path, ours))} of our modules"
