"""``${NAME}`` in any string of the file, replaced by the environment's value."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from slamon.config.common import format_loc

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(
    value: Any,
    env: Mapping[str, str],
    errors: list[str],
    path: tuple[str | int, ...] = (),
    missing: list[tuple[str | int, ...]] | None = None,
) -> Any:
    """Replace ``${NAME}`` in every string with the environment's value.

    A variable that is not set is reported in ``errors`` under its TOML path, and the
    path is added to ``missing`` (once per value).
    """
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                errors.append(f"{format_loc(path)}: environment variable {name} is not set")
                if missing is not None and (not missing or missing[-1] != path):
                    missing.append(path)
                return ""
            return env[name]

        return _ENV_REF.sub(sub, value)
    if isinstance(value, dict):
        return {k: expand_env(v, env, errors, (*path, k), missing) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, env, errors, (*path, i), missing) for i, v in enumerate(value)]
    return value


def without(data: dict[str, Any], paths: list[tuple[str | int, ...]]) -> dict[str, Any] | None:
    """``data`` with the key at each of ``paths`` left out; None if one is a list item."""
    out = copy.deepcopy(data)
    for path in paths:
        parent: Any = out
        for part in path[:-1]:
            parent = parent[part]
        if not isinstance(parent, dict):
            return None
        del parent[path[-1]]
    return out
