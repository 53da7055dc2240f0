"""The lean HTTP/1.1 response parser, fed byte by byte and in one piece."""

from __future__ import annotations

import asyncio

import pytest

from probes.errors import ProbeError, classify
from probes.httpclient import _Exchange
from probes.result import ErrorClass

OK_CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\nX-A: 2\r\n\r\n"
    b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: t\r\n\r\n"
)

# (id, wire bytes, close after sending, head only, cap) -> (status, body, truncated) or error
CASES: list[tuple[str, bytes, bool, bool, int, tuple[int, bytes, bool] | ErrorClass]] = [
    ("chunked-ext-trailer", OK_CHUNKED, False, False, 100, (200, b"hello world", False)),
    (
        "content-length",
        b"HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nabc",
        False,
        False,
        100,
        (201, b"abc", False),
    ),
    (
        "until-close",
        b"HTTP/1.0 200 OK\r\n\r\nall of it",
        True,
        False,
        100,
        (200, b"all of it", False),
    ),
    (
        "interim-100",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
        False,
        False,
        100,
        (204, b"", False),
    ),
    (
        "head-ignores-length",
        b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n",
        False,
        True,
        100,
        (200, b"", False),
    ),
    (
        "capped",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789",
        False,
        False,
        4,
        (200, b"0123", True),
    ),
    (
        "capped-chunked",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n0\r\n\r\n",
        False,
        False,
        4,
        (200, b"0123", True),
    ),
    ("not-http", b"SSH-2.0-x\r\n", False, False, 100, ErrorClass.PROTOCOL),
    ("short-garbage", b"\x16\x03", False, False, 100, ErrorClass.PROTOCOL),
    ("bad-status", b"HTTP/1.1 2x0 OK\r\n\r\n", False, False, 100, ErrorClass.PROTOCOL),
    ("bad-header", b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", False, False, 100, ErrorClass.PROTOCOL),
    (
        "bad-chunk-size",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n",
        False,
        False,
        100,
        ErrorClass.PROTOCOL,
    ),
    (
        "bad-content-length",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        False,
        False,
        100,
        ErrorClass.PROTOCOL,
    ),
    (
        "short-body",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
        True,
        False,
        100,
        ErrorClass.PROTOCOL,
    ),
    ("closed-silently", b"", True, False, 100, ErrorClass.RESET),
    (
        "endless-trailers",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + b"T: x\r\n" * 20_000,
        False,
        False,
        100,
        ErrorClass.TOO_LARGE,
    ),
    (
        "huge-head",
        b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70_000,
        False,
        False,
        100,
        ErrorClass.TOO_LARGE,
    ),
]


@pytest.mark.parametrize("piecewise", [False, True], ids=["whole", "byte-by-byte"])
@pytest.mark.parametrize(
    ("wire", "close", "head_only", "cap", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
async def test_parser(
    wire: bytes,
    close: bool,
    head_only: bool,
    cap: int,
    expected: tuple[int, bytes, bool] | ErrorClass,
    piecewise: bool,
) -> None:
    exchange = _Exchange(asyncio.get_running_loop(), head_only, cap)
    pieces = [wire[i : i + 1] for i in range(len(wire))] if piecewise else [wire]
    for piece in pieces:
        if piece:
            exchange.data_received(piece)
    if close:
        exchange.connection_lost(None)
    assert exchange.done.done(), "the parser did not finish"
    if isinstance(expected, ErrorClass):
        exc = exchange.done.exception()
        assert exc is not None
        assert classify(exc)[0] is expected, exc
    else:
        assert exchange.done.exception() is None
        assert (exchange.status, bytes(exchange.body), exchange.truncated) == expected


async def test_repeated_headers_are_joined() -> None:
    exchange = _Exchange(asyncio.get_running_loop(), False, 100)
    exchange.data_received(OK_CHUNKED)
    assert exchange.headers["x-a"] == "1, 2"
    assert exchange.reusable


def test_probe_error_is_classified_as_given() -> None:
    assert classify(ProbeError(ErrorClass.TOO_LARGE, "x")) == (ErrorClass.TOO_LARGE, "x")
