"""The one place that maps low-level exceptions to slamon's stable error classes."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl

import aiohttp
import aiomqtt
import dns.exception
import dns.resolver
import icmplib

from probes.result import ErrorClass

_ERRNO_CLASSES = {
    errno.ECONNREFUSED: ErrorClass.REFUSED,
    errno.ECONNRESET: ErrorClass.RESET,
    errno.EPIPE: ErrorClass.RESET,
    errno.ECONNABORTED: ErrorClass.RESET,
    errno.ENETUNREACH: ErrorClass.UNREACHABLE,
    errno.EHOSTUNREACH: ErrorClass.UNREACHABLE,
    errno.EADDRNOTAVAIL: ErrorClass.UNREACHABLE,
    errno.ETIMEDOUT: ErrorClass.TIMEOUT,
}


class ProbeError(Exception):
    """Raised inside a probe to fail the check with a given class and detail."""

    def __init__(self, error: ErrorClass, detail: str) -> None:
        super().__init__(detail)
        self.error = error
        self.detail = detail


def _tls_class(exc: BaseException) -> ErrorClass:
    text = str(getattr(exc, "verify_message", "") or exc).lower()
    if "expired" in text:
        return ErrorClass.CERT_EXPIRED
    return ErrorClass.TLS


def _mqtt_class(exc: aiomqtt.MqttError) -> ErrorClass:
    # aiomqtt flattens socket errors into MqttError(str(os_error)) and timeouts into
    # "Operation timed out"; CONNACK refusals carry a reason code.
    text = str(exc).lower()
    if "timed out" in text:
        return ErrorClass.TIMEOUT
    if isinstance(exc, aiomqtt.MqttCodeError):
        return ErrorClass.PROTOCOL
    for marker, error in (
        ("refused", ErrorClass.REFUSED),
        ("reset", ErrorClass.RESET),
        ("name or service not known", ErrorClass.DNS),
        ("temporary failure in name resolution", ErrorClass.DNS),
        ("certificate", ErrorClass.TLS),
        ("ssl", ErrorClass.TLS),
        ("unreachable", ErrorClass.UNREACHABLE),
    ):
        if marker in text:
            return error
    return ErrorClass.PROTOCOL


def release(exc: BaseException) -> None:
    """Drop the tracebacks of ``exc`` and of every exception it was raised from.

    A traceback holds the frames the exception passed through, and their locals often
    hold the exception again: the future it was set on, the protocol whose buffer was
    being parsed (a megabyte of header), an ``OSError`` kept to re-raise after trying
    every address. That is a reference cycle, freed only by the cyclic collector,
    which ``slamon run`` tunes to run rarely; so a failed check must not leave one.
    Frames are not cleared (``traceback.clear_frames``): a frame in a chain may belong
    to a coroutine that is still suspended, and clearing it would close that coroutine.
    """
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        item.__traceback__ = None
        if isinstance(item, BaseExceptionGroup):
            pending.extend(item.exceptions)
        for linked in (item.__cause__, item.__context__):
            if linked is not None:
                pending.append(linked)


def classify(exc: BaseException) -> tuple[ErrorClass, str]:
    """The error class and a short detail for ``exc``; never raises."""
    detail = f"{type(exc).__name__}: {exc}".strip().rstrip(":")[:300]
    if isinstance(exc, ProbeError):
        return exc.error, exc.detail
    if isinstance(exc, TimeoutError | asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return ErrorClass.TIMEOUT, "no answer within the timeout"
    if isinstance(exc, dns.exception.Timeout):
        return ErrorClass.TIMEOUT, "no DNS answer within the timeout"
    if isinstance(exc, dns.resolver.NXDOMAIN | dns.resolver.NoNameservers):
        return ErrorClass.DNS, detail
    if isinstance(exc, dns.exception.FormError | dns.exception.TooBig):
        return ErrorClass.PROTOCOL, detail
    if isinstance(exc, icmplib.NameLookupError):
        return ErrorClass.DNS, detail
    if isinstance(exc, icmplib.SocketPermissionError):
        return ErrorClass.CONFIG, f"{detail} (run as root or allow ping_group_range)"
    if isinstance(exc, icmplib.ICMPLibError):
        return ErrorClass.UNREACHABLE, detail
    if isinstance(exc, aiomqtt.MqttError):
        return _mqtt_class(exc), detail
    if isinstance(exc, aiohttp.TooManyRedirects):
        return ErrorClass.REDIRECT_LOOP, detail
    if isinstance(exc, aiohttp.ClientConnectorDNSError | socket.gaierror):
        return ErrorClass.DNS, detail
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return _tls_class(exc.certificate_error), detail
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _tls_class(exc), detail
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return ErrorClass.TLS, detail
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return ErrorClass.RESET, detail
    if isinstance(exc, aiohttp.ClientResponseError):
        # Raised by the response parser: bad status line, header too long, bad framing.
        if "too long" in str(exc).lower() or "more than" in str(exc).lower():
            return ErrorClass.TOO_LARGE, detail
        return ErrorClass.PROTOCOL, detail
    if isinstance(exc, aiohttp.ClientPayloadError):
        return ErrorClass.PROTOCOL, detail
    if isinstance(exc, aiohttp.ClientConnectorError):
        return classify(exc.os_error)[0], detail
    if isinstance(exc, aiohttp.ClientOSError | OSError):
        code = getattr(exc, "errno", None)
        if code in _ERRNO_CLASSES:
            return _ERRNO_CLASSES[code], detail
        if isinstance(exc, ConnectionResetError | BrokenPipeError):
            return ErrorClass.RESET, detail
        if isinstance(exc, ConnectionRefusedError):
            return ErrorClass.REFUSED, detail
        return ErrorClass.UNREACHABLE, detail
    if isinstance(exc, aiohttp.InvalidURL | ValueError):
        return ErrorClass.CONFIG, detail
    if isinstance(exc, asyncio.IncompleteReadError | EOFError):
        return ErrorClass.RESET, detail
    return ErrorClass.INTERNAL, detail
