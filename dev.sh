#!/usr/bin/env bash
# Set up the virtualenv (once, and again when setup.py changes) and run the demo or the tests.
#   ./dev.sh demo            generate a raw zone, ingest it (Parquet + Delta), query it: embedded AWS emulator
#   ./dev.sh test [ARGS]     the whole test suite (pytest ARGS, e.g. -m unit)
set -euo pipefail
cd "$(dirname "$0")"

setup() {
  local python="${PYTHON:-python3.11}"
  command -v "$python" >/dev/null 2>&1 || python=python3
  "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || {
    echo "lakeward needs Python 3.11 (AWS Glue 5.1); found $("$python" --version)" >&2; exit 1; }
  command -v java >/dev/null 2>&1 || { echo "lakeward needs Java 17 for Spark (java not found)" >&2; exit 1; }
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  local stamp=.venv/.lakeward-installed digest pins=.venv/glue-pins.txt
  digest=$(cat setup.py glue/glue-5.1-provided.txt | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    # The modules Glue 5.1 provides, at Glue's versions: what runs on Glue is what the tests run.
    grep -v -e '^#' -e '^pip==' -e '^setuptools==' glue/glue-5.1-provided.txt > "$pins"
    .venv/bin/python -m pip install -q -e ".[test]" -c "$pins"
    echo "$digest" > "$stamp"
  fi
}

# JVM parts fetched from Maven Central into a cache outside git, once per POM version (jars/*/pom.xml).
fetch_jars() {
  local cache="${LAKEWARD_JAR_CACHE:-$HOME/.cache/lakeward/jars}" pom name digest
  command -v mvn >/dev/null 2>&1 || { echo "mvn not found: Kafka streams and their tests need it" >&2; exit 1; }
  for pom in jars/*/pom.xml; do
    name=$(basename "$(dirname "$pom")")
    digest=$(sha256sum "$pom" | cut -d' ' -f1)
    if [ "$(cat "$cache/$name/.pom-sha256" 2>/dev/null)" != "$digest" ]; then
      rm -rf "${cache:?}/$name"
      mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$cache/$name"
      echo "$digest" > "$cache/$name/.pom-sha256"
    fi
  done
}

case "${1:-}" in
  demo) shift; setup; exec .venv/bin/lakeward demo "$@" ;;
  test) shift; setup; fetch_jars; exec .venv/bin/python -m pytest "$@" ;;
  setup) setup; fetch_jars ;;
  *) echo "usage: ./dev.sh demo | test [pytest args] | setup" >&2; exit 2 ;;
esac
