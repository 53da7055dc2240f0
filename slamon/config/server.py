"""``[server]``: the web server's address and its bearer tokens."""

from __future__ import annotations

from pydantic import (
    Field,
    SecretStr,
)

from slamon.config.common import Section


class ServerConfig(Section):
    """The web server: status page, API, /metrics, /healthz."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    admin_token: SecretStr | None = None
    finance_token: SecretStr | None = None
    # Request bodies over this are refused (413) before they are read into memory.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=1024**3)
