"""Signed links and keys for status page subscribers, all from one secret.

* A confirmation link carries what was asked for (kind, address, URL, components)
  and an expiry, signed: nothing is stored until it is followed.
* A subscriber's id is derived from its address, so confirming twice is one
  subscriber; an unsubscribe link is the id and a signature of it (it never expires).
* A webhook subscriber's signing key is derived from its id: never stored, shown once.
* A webhook body is signed with that key: ``sha256=`` HMAC-SHA256 of
  ``<timestamp>.<body>``, so a receiver can refuse a replayed or altered delivery.

Every signature is HMAC-SHA256 with a purpose string in the message, so that a value
signed for one purpose is never valid for another.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any


class BadToken(ValueError):
    """A link that was not made by us, was altered, or has expired."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, purpose: str, *parts: str) -> bytes:
    message = "\x00".join((purpose, *parts)).encode()
    return hmac.new(secret, message, hashlib.sha256).digest()


def subscriber_id(secret: bytes, kind: str, target: str) -> str:
    """The id of the subscriber ``kind`` at ``target`` (an address or a URL)."""
    return _mac(secret, "subscriber-id", kind, target).hex()[:32]


def webhook_key(secret: bytes, subscriber: str) -> str:
    """The key a webhook subscriber checks our signatures with."""
    return _mac(secret, "webhook-key", subscriber).hex()


def sign(secret: bytes, purpose: str, payload: dict[str, Any], expires: datetime) -> str:
    """``payload`` and its expiry as a URL-safe token, signed for ``purpose``."""
    body = _b64(
        json.dumps(
            {**payload, "exp": int(expires.timestamp())}, separators=(",", ":"), sort_keys=True
        ).encode()
    )
    return f"{body}.{_b64(_mac(secret, purpose, body))}"


def verify(secret: bytes, purpose: str, token: str, now: datetime) -> dict[str, Any]:
    """The payload of a token ``sign`` made for ``purpose``; BadToken otherwise."""
    body, _, signature = token.partition(".")
    try:
        given = _unb64(signature)
    except (binascii.Error, ValueError):
        raise BadToken("not a valid link") from None
    if not body or not hmac.compare_digest(given, _mac(secret, purpose, body)):
        raise BadToken("not a valid link")
    try:
        payload = json.loads(_unb64(body))
    except (binascii.Error, ValueError):
        raise BadToken("not a valid link") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int):
        raise BadToken("not a valid link")
    if now.timestamp() >= payload["exp"]:
        raise BadToken("the link has expired")
    return payload


def unsubscribe_token(secret: bytes, subscriber: str) -> str:
    """The token of a subscriber's unsubscribe link."""
    return f"{subscriber}.{_b64(_mac(secret, 'unsubscribe', subscriber))}"


def unsubscribe_id(secret: bytes, token: str) -> str:
    """The subscriber an unsubscribe token names; BadToken if it was not made by us."""
    subscriber, _, signature = token.partition(".")
    try:
        given = _unb64(signature)
    except (binascii.Error, ValueError):
        raise BadToken("not a valid link") from None
    if not subscriber or not hmac.compare_digest(given, _mac(secret, "unsubscribe", subscriber)):
        raise BadToken("not a valid link")
    return subscriber


def webhook_signature(key: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 with ``key`` of ``<timestamp>.<body>``."""
    mac = hmac.new(key.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"
