"""Reading one YAML file of faq/ and checking the shape of its values; every failure is a
Problem at the line at fault, never an exception."""

from pathlib import Path
from typing import Any

from bot.content.problems import Problem
from bot.content.yaml_lines import LocatedYaml, YamlSyntaxError, load_located_file


def load_yaml(path: Path, problems: list[Problem]) -> LocatedYaml | None:
    """Return the located YAML of `path`, or None (with a problem) when it cannot be read."""
    try:
        return load_located_file(path)
    except YamlSyntaxError as error:
        problems.append(
            Problem(
                path,
                error.line,
                error.message,
                "correct the YAML (indentation, quotes, colons) at that line",
            )
        )
    except UnicodeDecodeError:
        problems.append(Problem(path, 1, "the file is not UTF-8 text", "save it as UTF-8"))
    return None


def string_list(
    doc: LocatedYaml, path: Path, keys: tuple[str, ...], problems: list[Problem]
) -> list[str]:
    """The non-empty list of phrases at `keys`, or [] (with a problem) if it is not one."""
    value: Any = doc.data
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        problems.append(
            Problem(
                path,
                doc.line(*keys),
                f"'{'.'.join(keys)}' must be a list of phrases",
                f"write '{keys[-1]}: [phrase, ...]' with at least one phrase",
            )
        )
        return []
    return [str(v) for v in value]


def phrase_groups(
    doc: LocatedYaml, path: Path, key: str, problems: list[Problem]
) -> list[list[str]]:
    """A list of phrase groups (`key: [[a, b], [c, d]]`), each a non-empty list of strings."""
    value: Any = doc.data.get(key) if isinstance(doc.data, dict) else None
    if not isinstance(value, list) or not all(
        isinstance(g, list) and g and all(isinstance(p, str) for p in g) for g in value
    ):
        problems.append(
            Problem(
                path,
                doc.line(key),
                f"'{key}' must be a list of phrase groups",
                f"write '{key}:' and under it lines like '  - [hong kong, 香港]'",
            )
        )
        return []
    return [[str(p) for p in g] for g in value]
