#!/usr/bin/env bash
# One command that sets up everything stix and its tests need on a fresh Debian machine:
# the apt packages the real-server tests use, and a venv (.venv) with stix and its test extras.
set -euo pipefail
cd "$(dirname "$0")"

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

if command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends \
        openssh-server openssh-client cloud-init rsync iproute2 git >/dev/null
else
    echo "install.sh: no apt-get here; install openssh-server, cloud-init, rsync and iproute2 yourself" >&2
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test,pulumi]'
# PYTHONDONTWRITEBYTECODE is set on these machines: compile explicitly, or every process
# recompiles the (large) dependencies on import.
.venv/bin/python -m compileall -q -j 0 .venv/lib stix >/dev/null || true
echo "stix installed: activate with 'source .venv/bin/activate' or run .venv/bin/stix"
