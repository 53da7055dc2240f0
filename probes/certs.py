"""Certificate expiry, shared by the http and tls probes."""

from __future__ import annotations

from collections.abc import Iterable

from cryptography import x509

from probes.result import ErrorClass

DEFAULT_WARNING = 14 * 86400.0
"""Certificates closer than this to expiry make a check *degraded*."""


def earliest_expiry(chain: Iterable[bytes]) -> float | None:
    """The earliest ``notAfter`` in a chain of DER certificates, in unixtime."""
    earliest: float | None = None
    for der in chain:
        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError:
            continue
        at = cert.not_valid_after_utc.timestamp()
        earliest = at if earliest is None or at < earliest else earliest
    return earliest


def check_expiry(expiry: float, now: float, warning: float) -> tuple[ErrorClass, str] | None:
    """None when ``expiry`` is comfortably ahead, else the error class and a detail.

    ``CERT_EXPIRED`` means the check is down; ``CERT_EXPIRING`` (within ``warning``
    seconds of expiry) means it is degraded.
    """
    left = expiry - now
    if left <= 0:
        return ErrorClass.CERT_EXPIRED, f"certificate expired {_days(-left)} ago"
    if left < warning:
        return ErrorClass.CERT_EXPIRING, f"certificate expires in {_days(left)}"
    return None


def _days(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    return f"{seconds / 3600:.1f} hours"
