"""A built wheel carries templates/ and catalog_data/ and finds them from anywhere."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
        capture_output=True, text=True, timeout=300,
    )
    if build.returncode != 0:
        pytest.skip(f"cannot build a wheel here (needs hatchling from PyPI): {build.stderr[-500:]}")
    return next(out.glob("stix-*.whl"))


@pytest.mark.slow
def test_wheel_contains_data(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("stix/_data/templates/") for n in names)
    assert any(n.startswith("stix/_data/catalog_data/") for n in names)
    assert "stix/cli/__init__.py" in names
    assert any(n.endswith("entry_points.txt") for n in names)


@pytest.mark.slow
def test_installed_wheel_finds_data_from_elsewhere(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True, timeout=300)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = ("import stix, stix.paths as p; print(stix.__file__); "
             "print(p.templates_dir()); print(p.catalog_dir())")
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("STIX_CATALOG_DIR", None)
    out = subprocess.run([sys.executable, "-c", probe], cwd=elsewhere, env=env,
                         capture_output=True, text=True, check=True)
    module, templates, catalog = out.stdout.split()
    assert module.startswith(str(target))
    assert templates == str(target / "stix" / "_data" / "templates")
    assert catalog == str(target / "stix" / "_data" / "catalog_data")


def test_source_checkout_finds_data() -> None:
    from stix.paths import catalog_dir, templates_dir

    assert templates_dir() == REPO / "templates"
    assert catalog_dir() == REPO / "catalog_data"


def test_catalog_dir_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from stix.paths import catalog_dir

    monkeypatch.setenv("STIX_CATALOG_DIR", str(tmp_path))
    assert catalog_dir() == tmp_path


def test_python_dash_m_works() -> None:
    out = subprocess.run([sys.executable, "-m", "stix", "--version"], capture_output=True,
                         text=True, cwd="/")
    assert out.returncode == 0 and "stix" in out.stdout
