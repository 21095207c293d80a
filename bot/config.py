"""Typed configuration: a YAML file, then environment variables over it.

Secrets (the Telegram token, later) come only from the environment or from a file outside the
repository; this module never reads them from the YAML file itself.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ENV_CONFIG = "RWA_BOT_CONFIG"
ENV_CONTENT_DIR = "RWA_BOT_CONTENT_DIR"
ENV_DATA_DIR = "RWA_BOT_DATA_DIR"


class ConfigError(Exception):
    """A configuration that cannot be used; the message says what to fix."""


def shipped_content_dir() -> Path:
    """Return the faq/ folder shipped with the program, wherever it was installed from."""
    packaged = Path(__file__).resolve().parent / "_content"  # inside an installed wheel
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "faq"  # a source checkout or editable install


@dataclass(frozen=True)
class Settings:
    """Everything the program can be configured with (see config.example.yaml)."""

    content_dir: Path = field(default_factory=shipped_content_dir)
    data_dir: Path = Path("var")


def _path(value: Any, key: str, base: Path) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"'{key}' must be a path")
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def load_settings(
    config_path: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Return the settings from `config_path` (or $RWA_BOT_CONFIG), then the environment.

    Relative paths in the file are relative to the file's folder; in the environment, to the
    working directory. Without any file or variable, the shipped content is used.
    """
    env = os.environ if environ is None else environ
    if config_path is None and env.get(ENV_CONFIG):
        config_path = Path(env[ENV_CONFIG])
    values: dict[str, Any] = {}
    if config_path is not None:
        try:
            data = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
        except OSError as error:
            raise ConfigError(
                f"cannot read the config file {config_path}: {error.strerror}"
            ) from None
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            problem = getattr(error, "problem", None) or "it cannot be parsed"
            raise ConfigError(
                f"the config file {config_path} is not valid YAML{where}: {problem}"
            ) from None
        if not isinstance(data, dict):
            raise ConfigError(f"the config file {config_path} must be a mapping of settings")
        base = config_path.resolve().parent
        known = {"content_dir", "data_dir"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"unknown setting(s) in {config_path}: {', '.join(unknown)} "
                f"(known: {', '.join(sorted(known))})"
            )
        for key in known & set(data):
            if data[key] is not None:
                values[key] = _path(data[key], key, base)
    cwd = Path.cwd()
    if env.get(ENV_CONTENT_DIR):
        values["content_dir"] = _path(env[ENV_CONTENT_DIR], ENV_CONTENT_DIR, cwd)
    if env.get(ENV_DATA_DIR):
        values["data_dir"] = _path(env[ENV_DATA_DIR], ENV_DATA_DIR, cwd)
    return Settings(**values)
