"""Input a node could not take is refused when the file is read, with field and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from stix.errors import TaskError
from stix.task import Task, load_pipeline
from stix.task.loader import MAX_ENV_ENTRY, MAX_ENV_TOTAL


def _load(tmp_path: Path, text: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(text)
    load_pipeline(path)


@pytest.mark.parametrize(("text", "where"), [
    ('name: "a\\0b"\nrun: echo\n', ":1:1: name: contains the control character '\\x00'"),
    ('run: "echo \\x1b[31m"\n', ":1:1: run: contains the control character '\\x1b'"),
    ('envs:\n  "K\\x07": v\nrun: echo\n', "envs.K\x07: contains the control character"),
    ('file_mounts:\n  /d: "/tmp/\\x00x"\nrun: echo\n', ":2:3: file_mounts./d: contains"),
])
def test_control_characters_are_refused_anywhere(tmp_path: Path, text: str, where: str) -> None:
    with pytest.raises(TaskError) as err:
        _load(tmp_path, text)
    assert where in str(err.value)


def test_tabs_and_newlines_are_text(tmp_path: Path) -> None:
    _load(tmp_path, 'run: "echo a\\tb\\nc"\n')


def test_an_env_value_too_big_for_a_node_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TaskError) as err:
        _load(tmp_path, f"envs:\n  BIG: {'x' * MAX_ENV_ENTRY}\nrun: echo\n")
    assert ":2:3: envs.BIG: is" in str(err.value) and "per variable" in str(err.value)


def test_envs_too_big_together_are_refused(tmp_path: Path) -> None:
    per = MAX_ENV_ENTRY // 2
    lines = "".join(f"  V{i}: {'x' * per}\n" for i in range(MAX_ENV_TOTAL // per + 1))
    with pytest.raises(TaskError, match="together"):
        _load(tmp_path, "envs:\n" + lines + "run: echo\n")


def _task(tmp_path: Path, text: str) -> Task:
    path = tmp_path / "t.yaml"
    path.write_text(text)
    return load_pipeline(path).tasks[0]


def test_secrets_as_a_list_of_names_are_secrets_given_with_secret(tmp_path: Path) -> None:
    listed = _task(tmp_path, "secrets: [HF_TOKEN, WANDB_API_KEY]\nrun: echo\n")
    mapped = _task(tmp_path, "secrets:\n  HF_TOKEN: null\n  WANDB_API_KEY:\nrun: echo\n")
    assert listed == mapped
    assert listed.secrets == {"HF_TOKEN": None, "WANDB_API_KEY": None}
    assert listed.missing_envs() == ["HF_TOKEN", "WANDB_API_KEY"]


@pytest.mark.parametrize(("text", "where"), [
    ("secrets:\n  - HF_TOKEN\n  - {A: 1}\n", ":1:1: secrets: a list of secrets holds names "
                                            "only; item 2 is dict"),
    ("secrets: [A, A]\n", ":1:1: secrets: secret 'A' is listed twice"),
    ("secrets: [HF-TOKEN]\n", ":1:1: secrets: 'HF-TOKEN' is not a valid environment variable"),
    ("envs:\n  - A: 1\n", ":1:1: envs: must be a mapping of NAME: value, not a list"),
    ("envs: [A]\n", ":1:1: envs: must be a mapping"),
    ("secrets: TOKEN\n", ":1:1: secrets: Input should be a valid dictionary"),
])
def test_shapes_skypilot_refuses_name_the_field_and_line(tmp_path: Path, text: str,
                                                         where: str) -> None:
    with pytest.raises(TaskError) as err:
        _load(tmp_path, text + "run: echo\n")
    assert where in str(err.value)


def test_the_secrets_list_fixture_needs_its_values_from_secret() -> None:
    from conftest import FIXTURES

    task = load_pipeline(FIXTURES / "skypilot_forms" / "secrets_list.yaml").tasks[0]
    assert task.secrets == {"HF_TOKEN": None, "WANDB_API_KEY": None}
