"""Safe YAML reading for user files.

PyYAML's SafeLoader already refuses tags that build Python objects; on top of it this
refuses duplicate keys and alias bombs, records where every value stands (so errors can
name a line), and turns every failure into a `TaskError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from stix.errors import Problem, TaskError

MAX_BYTES = 4 * 1024 * 1024
MAX_EXPANDED_NODES = 200_000

Path_ = tuple[str | int, ...]


@dataclass
class Document:
    """One YAML document: its data and the (line, column) of every value by field path."""

    data: Any
    marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: Path_) -> tuple[int, int] | None:
        # The closest enclosing value that has a mark (pydantic paths can run deeper
        # than the YAML, e.g. into a normalized model).
        while True:
            if path in self.marks:
                return self.marks[path]
            if not path:
                return None
            path = path[:-1]


class _Loader(yaml.SafeLoader):
    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, Node] = {}
        for key_node, _ in node.value:
            # A merge key (`<<: *base`) brings keys that the mapping's own may override.
            if isinstance(key_node, ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = self.construct_object(key_node, deep=deep)
                try:
                    hash(key)
                except TypeError:
                    continue
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"duplicate key {key!r} (first at line {seen[key].start_mark.line + 1})",
                        key_node.start_mark,
                    )
                seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node: Node, memo: dict[int, int], depth: int = 0) -> int:
    """Nodes the document would have with every alias expanded, without expanding it."""
    if id(node) in memo:
        return memo[id(node)]
    if depth > 200:
        raise ValueError("nesting deeper than 200 levels")
    memo[id(node)] = 1  # guards against cycles while counting
    total = 1
    if isinstance(node, SequenceNode):
        total += sum(_expanded_size(child, memo, depth + 1) for child in node.value)
    elif isinstance(node, MappingNode):
        for k, v in node.value:
            total += _expanded_size(k, memo, depth + 1) + _expanded_size(v, memo, depth + 1)
    memo[id(node)] = total
    return total


def _collect_marks(node: Node, path: Path_, marks: dict[Path_, tuple[int, int]]) -> None:
    marks.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, SequenceNode):
        for i, child in enumerate(node.value):
            _collect_marks(child, (*path, i), marks)
    elif isinstance(node, MappingNode):
        for k, v in node.value:
            if isinstance(k, ScalarNode):
                # The key's own position is the most useful for "unknown field" errors.
                marks.setdefault((*path, k.value), (k.start_mark.line + 1, k.start_mark.column + 1))
                _collect_marks(v, (*path, k.value), marks)


def _fail(source: str, message: str, mark: Any = None) -> TaskError:
    line = mark.line + 1 if mark is not None else None
    col = mark.column + 1 if mark is not None else None
    return TaskError(source, [Problem("", message, line, col)])


def load_documents(text: str, source: str) -> list[Document]:
    """Parse every document in `text`; raise TaskError naming `source` on any problem."""
    if len(text.encode("utf-8", errors="replace")) > MAX_BYTES:
        raise _fail(source, f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    docs: list[Document] = []
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        raise _fail(source, _reader_message(exc)) from None
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            try:
                size = _expanded_size(node, {})
            except ValueError as exc:
                raise _fail(source, str(exc), node.start_mark) from None
            if size > MAX_EXPANDED_NODES:
                raise _fail(
                    source,
                    f"document expands to more than {MAX_EXPANDED_NODES} values "
                    "(too many aliases?)",
                    node.start_mark,
                )
            marks: dict[Path_, tuple[int, int]] = {}
            _collect_marks(node, (), marks)
            data = loader.construct_document(node)
            docs.append(Document(data, marks))
    except yaml.MarkedYAMLError as exc:
        problem = exc.problem or str(exc)
        if exc.problem and "could not determine a constructor for the tag" in exc.problem:
            problem = f"YAML tag {_tag_of(exc)} is not allowed (stix builds no objects from YAML)"
        context = f" ({exc.context})" if exc.context and exc.context != problem else ""
        raise _fail(source, f"invalid YAML: {problem}{context}", exc.problem_mark) from None
    except yaml.reader.ReaderError as exc:
        raise _fail(source, _reader_message(exc)) from None
    except yaml.YAMLError as exc:
        raise _fail(source, f"invalid YAML: {exc}") from None
    except RecursionError:
        raise _fail(source, "invalid YAML: nesting too deep") from None
    finally:
        loader.dispose()
    return docs


def _reader_message(exc: yaml.reader.ReaderError) -> str:
    char = exc.character
    shown = f"#x{char:04x}" if isinstance(char, int) else repr(char)
    return f"invalid YAML: {exc.reason} (character {shown})"


def _tag_of(exc: yaml.MarkedYAMLError) -> str:
    problem = exc.problem or ""
    start = problem.find("'")
    end = problem.rfind("'")
    return problem[start : end + 1] if 0 <= start < end else "(unknown)"


def dump(data: Any) -> str:
    """Readable, stable YAML for files people review (block style, insertion order)."""

    class _Dumper(yaml.SafeDumper):
        pass

    def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _str)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100)
