"""Parsing the targets probes accept: ``host:port`` and URLs."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Whitespace (any Unicode space) and control characters; one regex search, where a
# loop over the characters cost half of validating a monitor (10,000 discovered ones).
_BAD_URL_CHARS = re.compile(r"[\s\x00-\x1f\x7f]")


def parse_host_port(target: str) -> tuple[str, int]:
    """Split ``host:port`` or ``[v6]:port``; ValueError with a reason otherwise."""
    text = target.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise ValueError(f"expected [address]:port, got {target!r}")
        port_text = rest[1:]
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep or not host:
            raise ValueError(f"expected host:port, got {target!r}")
        if ":" in host:
            raise ValueError(f"write an IPv6 address in brackets: [{host}]:{port_text}")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"port must be 1-65535, got {port_text!r}")
    return host, int(port_text)


def parse_http_url(target: str) -> str:
    """Check that ``target`` is an absolute http(s) URL with a host."""
    if _BAD_URL_CHARS.search(target):
        raise ValueError(f"URL contains whitespace or control characters: {target!r}")
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"expected an http:// or https:// URL, got {target!r}")
    if not parts.hostname:
        raise ValueError(f"URL has no host: {target!r}")
    return target
