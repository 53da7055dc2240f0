"""Unsigned LEB128 varints: the compact integers of stored sketches and packed rollups."""

from __future__ import annotations


def write_varint(out: bytearray, value: int) -> None:
    """Append ``value`` (>= 0) to ``out``, seven bits a byte."""
    if value < 0:
        raise ValueError("a varint must not be negative")
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """The varint at ``data[pos:]`` and the position after it; ValueError if truncated."""
    shift = value = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 64 bits")
