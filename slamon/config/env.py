"""``${NAME}`` in any string of the file, replaced by the environment's value."""

from __future__ import annotations

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
) -> Any:
    """Replace ``${NAME}`` in every string with the environment's value.

    A variable that is not set is reported in ``errors`` under its TOML path.
    """
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                errors.append(f"{format_loc(path)}: environment variable {name} is not set")
                return ""
            return env[name]

        return _ENV_REF.sub(sub, value)
    if isinstance(value, dict):
        return {k: expand_env(v, env, errors, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, env, errors, (*path, i)) for i, v in enumerate(value)]
    return value
