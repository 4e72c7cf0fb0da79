#!/usr/bin/env bash
# The whole test suite with the quality gate: ruff, mypy, then pytest with coverage.
set -euo pipefail
cd "$(dirname "$0")"
PY=.venv/bin/python
$PY -m ruff check stix tests benchmarks
$PY -m mypy
$PY -m pytest --cov --cov-report=term:skip-covered "$@"
