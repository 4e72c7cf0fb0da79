"""`stix.api` is the public surface; its names are pinned so changes are deliberate."""

from __future__ import annotations

import stix
from stix import api

CORE = {"AcceleratorReq", "Accelerators", "NotFoundError", "Pipeline", "Resources", "StixError",
        "StorageMount", "Task", "TaskError", "UsageError", "load_pipeline", "load_task",
        "parse_tasks", "task_schema"}


def test_core_names_exported() -> None:
    assert set(api.__all__) >= CORE
    for name in api.__all__:
        assert hasattr(api, name), name


def test_reexported_from_package() -> None:
    assert stix.load_task is api.load_task
    assert stix.Task is api.Task
    assert "load_task" in dir(stix)


def test_unknown_attribute() -> None:
    import pytest

    with pytest.raises(AttributeError):
        _ = stix.no_such_thing  # type: ignore[attr-defined]


def test_pipeline_use(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "t.yaml"
    path.write_text("name: x\nresources:\n  accelerators: A100:2\nrun: echo\n")
    task = stix.load_task(path)
    assert task.resources.accelerators is not None
    assert str(task.resources.accelerators.options[0]) == "A100:2"
