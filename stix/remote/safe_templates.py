"""jinja2 templates that cannot print a value unquoted: the `yaml` and `shq` filters.

Shared by the cloud-init renderer (generic templates in `templates/cloud-init/`, each
cloud's own under `stix/clouds/<cloud>/`): every `{{ ... }}` must end in one of the filters
(or be an integer), else rendering fails, so a template edit cannot let a cluster name, bucket,
label or path change a document's structure or run as a command.
"""

from __future__ import annotations

import re
import shlex
from functools import cache
from pathlib import Path
from typing import Any

from stix.errors import StixError

TEMPLATE_FOLDER = "cloud-init"


class UnsafeValueError(StixError):
    """A value that no quoting can carry (a NUL byte into a shell command)."""


class _Quoted(str):
    """Text a filter made safe for where it is printed."""


def _shq(value: object) -> _Quoted:
    text = str(value)
    if "\0" in text:
        raise UnsafeValueError(f"a value for a shell command contains NUL: {text[:60]!r}")
    return _Quoted(shlex.quote(text))


def to_yaml(value: object, indent: int = 0) -> str:
    """`value` as one YAML node (flow style; a multi-line string as a literal block when it
    can be one, else double-quoted), continuation lines indented by `indent` spaces.

    `indent` is the column of the key the value belongs to. Whatever the value holds (quotes,
    `: `, `#`, newlines, `$()`), it parses back as the same value and adds no keys.
    """
    if isinstance(value, str):
        fast = _fast_str(value, indent)
        if fast is not None:
            return _Quoted(fast)
    import yaml

    text = yaml.dump(value, Dumper=_dumper(), default_flow_style=True, width=float("inf"),
                     allow_unicode=True, sort_keys=False)
    if text.endswith("\n...\n"):  # a plain scalar at the root gets an explicit end
        text = text[:-4]
    # Empty lines stay empty: inside a literal block they are content either way.
    return _Quoted(re.sub(r"\n(?=[^\n])", "\n" + " " * indent, text.removesuffix("\n")))


_PLAIN_ASCII = re.compile(r'[ !#-\[\]-~]*')  # printable ASCII but `"` and `\`
_TRAILING_BLANK = re.compile(r"[ \t]\n|[ \t]$")


def _fast_str(text: str, indent: int) -> str | None:
    """The common cases without PyYAML's (slow, pure Python) emitter; None for the rest.

    Inside double quotes every printable ASCII character but `"` and `\\` stands for itself.
    A literal block keeps its lines as they are, given: no leading blank (that would need an
    indentation indicator), no trailing blanks, at most one final newline, and nothing a
    YAML reader would take as a line break or reject (`isprintable` rules those out).
    """
    if "\n" not in text:
        return f'"{text}"' if _PLAIN_ASCII.fullmatch(text) else None
    if (text[0] in " \t\n" or text.endswith("\n\n") or _TRAILING_BLANK.search(text)
            or not all(line.isprintable() for line in text.replace("\t", " ").split("\n"))):
        return None
    head = "|" if text.endswith("\n") else "|-"
    pad = "\n" + " " * (indent + 2)
    lines = text.removesuffix("\n").split("\n")
    return head + "".join(pad + line if line else "\n" for line in lines)


@cache
def _dumper() -> type:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
        literal = ("\n" in data and data[0] not in " \t\n" and not data.endswith("\n\n")
                   and all(c.isprintable() or c in "\n\t" for c in data))
        return dumper.represent_scalar("tag:yaml.org,2002:str", data,
                                       style="|" if literal else '"')

    Dumper.add_representer(str, represent_str)
    return Dumper


def _finalize(value: object) -> object:
    if isinstance(value, _Quoted) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise AssertionError(f"template prints {value!r} without the yaml or shq filter")


@cache
def _environment() -> Any:
    import jinja2

    from stix.paths import templates_dir

    clouds = Path(__file__).resolve().parent.parent / "clouds"  # `<cloud>/...` templates
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(templates_dir() / TEMPLATE_FOLDER), str(clouds)]),
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True, finalize=_finalize, auto_reload=False,
    )
    env.filters["yaml"] = to_yaml
    env.filters["shq"] = _shq
    return env


def render_template(name: str, **context: Any) -> str:
    """Render `templates/cloud-init/<name>` (or a cloud's `stix/clouds/<cloud>/<file>`) with
    the quoting filters."""
    return str(_environment().get_template(name).render(**context))
