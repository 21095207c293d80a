"""YAML loading that remembers the line of every value, so a problem can point at it."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PathKey = tuple[str | int, ...]


@dataclass
class LocatedYaml:
    """A loaded YAML document and where each of its parts stands in the file."""

    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line(self, *path: str | int) -> int:
        """Return the line of `path`, or of its nearest located ancestor (1 if none)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return 1


class YamlSyntaxError(Exception):
    """A file that is not valid YAML; `line` is 1-based."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class _Constructor(yaml.SafeLoader):
    pass


def _build(node: yaml.Node, path: PathKey, out: LocatedYaml, loader: _Constructor) -> Any:
    out.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        loader.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | bool | float) and key is not None:
                key = str(key)
            child = (*path, key if isinstance(key, str | int) else str(key))
            out.lines[child] = key_node.start_mark.line + 1
            if key in result:
                raise YamlSyntaxError(f"key {key!r} appears twice", key_node.start_mark.line + 1)
            result[key] = _build(value_node, child, out, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            items.append(_build(item, (*path, i), out, loader))
        return items
    return loader.construct_object(node, deep=True)


def load_located(text: str) -> LocatedYaml:
    """Parse one YAML document from `text`; raise YamlSyntaxError with the line at fault.

    PyYAML's composer keeps each node's position; this builds plain Python values from the
    nodes (with the safe loader's scalar types) and records the 1-based line of every mapping
    key and sequence item under its path, e.g. ("entries", 3, "cites", 0)."""
    loader = _Constructor(text)
    try:
        node = loader.get_single_node()
        out = LocatedYaml(data=None)
        if node is not None:
            out.data = _build(node, (), out, loader)
        return out
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = error.problem or str(error)
        raise YamlSyntaxError(f"YAML syntax: {problem}", line) from None
    except yaml.YAMLError as error:
        raise YamlSyntaxError(f"YAML syntax: {error}", 1) from None
    finally:
        loader.dispose()


def load_located_file(path: Path) -> LocatedYaml:
    """Read and parse `path` as UTF-8 YAML (see `load_located`)."""
    return load_located(path.read_text(encoding="utf-8"))
