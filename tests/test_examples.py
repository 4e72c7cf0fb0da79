"""Every example in examples/ is checked by `stix validate`, as a user would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.yaml"))
REQUIRED = {"hello", "notebook-gpu", "finetune-a100", "distributed-train", "serve-llm",
            "pipeline", "k8s-job", "existing-machines", "local-hello"}


def test_the_promised_examples_exist() -> None:
    assert {p.stem for p in EXAMPLES} >= REQUIRED


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_validates(path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "stix", "validate", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert ": OK" in out.stdout


def test_distributed_example_uses_rank_env() -> None:
    text = (Path(__file__).parent.parent / "examples" / "distributed-train.yaml").read_text()
    assert "STIX_NODE_RANK" in text and "num_nodes: 4" in text
