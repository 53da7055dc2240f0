"""slamon.bus.mqtt's socket reader: whole buffers in, packets out, whatever the split.

The reader runs on a real paho client whose socket is one end of a socketpair; the
test writes MQTT bytes to the other end, split at every possible place, and checks
what reaches the handler and what paho itself handled. The broker-level behaviour
(persistent sessions, acknowledgements after commit) is tested against Mosquitto in
test_distributed.py and test_faults.py.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from typing import Any

import pytest
from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion

from slamon.bus.mqtt import Message, _FastReader, _remaining_length


def publish(
    topic: str,
    payload: bytes,
    mid: int,
    *,
    qos: int = 1,
    v5: bool = True,
    properties: bytes = b"\x00",
    retain: bool = False,
) -> bytes:
    name = topic.encode()
    body = struct.pack("!H", len(name)) + name
    if qos:
        body += struct.pack("!H", mid)
    if v5:
        body += properties
    body += payload
    return bytes([0x30 | qos << 1 | int(retain)]) + _remaining_length(len(body)) + body


def puback(mid: int, reason: int | None = None) -> bytes:
    if reason is None:
        return struct.pack("!BBH", 0x40, 2, mid)
    return struct.pack("!BBHB", 0x40, 3, mid, reason)


class Rig:
    def __init__(self, *, v5: bool = True) -> None:
        protocol = MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311
        self.paho = Client(CallbackAPIVersion.VERSION2, protocol=protocol)
        self.ours, self.theirs = socket.socketpair()
        self.ours.setblocking(False)
        self.paho._sock = self.ours
        self.received: list[Message] = []
        self.paho_messages: list[Any] = []
        self.acked: list[tuple[int, bool]] = []
        self.mine: set[int] = set()
        self.paho.on_message = lambda _c, _u, m: self.paho_messages.append(m)
        self.reader = _FastReader(self.paho, self.received.append, self.ack)

    def ack(self, mid: int, refused: bool) -> bool:
        if mid not in self.mine:
            return False
        self.acked.append((mid, refused))
        return True

    def feed(self, data: bytes) -> MQTTErrorCode:
        self.theirs.sendall(data)
        return self.reader.loop_read()

    def close(self) -> None:
        self.ours.close()
        self.theirs.close()


@pytest.fixture
def rig() -> Iterator[Rig]:
    r = Rig()
    yield r
    r.close()


def test_publishes_split_at_every_byte_arrive_whole_and_in_order(rig: Rig) -> None:
    stream = b"".join(
        publish(f"p/v1/results/a/m{i}", b'{"n":%d}' % i + b"x" * (i * 40), i + 1) for i in range(6)
    )
    for cut in range(1, len(stream)):
        rig.received.clear()
        assert rig.feed(stream[:cut]) == MQTTErrorCode.MQTT_ERR_SUCCESS
        assert rig.feed(stream[cut:]) == MQTTErrorCode.MQTT_ERR_SUCCESS
        assert [m.topic for m in rig.received] == [f"p/v1/results/a/m{i}" for i in range(6)]
        assert [m.mid for m in rig.received] == [1, 2, 3, 4, 5, 6]
        assert rig.received[5].payload.startswith(b'{"n":5}')
        assert len(rig.received[5].payload) == len(b'{"n":5}') + 200
    assert not rig.reader.buffer


def test_a_long_remaining_length_and_qos0_and_retain(rig: Rig) -> None:
    big = b"y" * 20_000  # three bytes of remaining length
    rig.feed(publish("t/big", big, 7) + publish("t/q0", b"zero", 0, qos=0, retain=True))
    assert [(m.topic, m.qos, m.retain, len(m.payload)) for m in rig.received] == [
        ("t/big", 1, False, 20_000),
        ("t/q0", 0, True, 4),
    ]


def test_publishes_with_properties_or_qos2_or_bad_utf8_go_to_paho(rig: Rig) -> None:
    # Payload format indicator property (0x01) = 1: paho decodes properties.
    rig.feed(publish("t/props", b"a", 3, properties=b"\x02\x01\x01"))
    rig.feed(publish("t/q2", b"b", 4, qos=2))
    raw = b"\x00\x04t/\xff\xfe" + struct.pack("!H", 5) + b"\x00" + b"c"
    rig.feed(bytes([0x32]) + _remaining_length(len(raw)) + raw)
    assert rig.received == []
    assert [m.payload for m in rig.paho_messages] == [b"a", b"c"]  # QoS 2 waits for PUBREL
    assert rig.paho_messages[0].properties.PayloadFormatIndicator == 1


def test_pubacks_for_our_publishes_are_matched_and_the_rest_left_to_paho(rig: Rig) -> None:
    rig.mine = {10, 11}
    rig.feed(puback(10) + puback(11, 0x87) + puback(12) + publish("t/x", b"p", 1))
    assert rig.acked == [(10, False), (11, True)]
    assert [m.topic for m in rig.received] == ["t/x"]


def test_mqtt311_publishes_have_no_properties_byte() -> None:
    rig = Rig(v5=False)
    try:
        rig.feed(publish("t/v3", b"body", 9, v5=False))
        assert [(m.topic, m.payload, m.mid) for m in rig.received] == [("t/v3", b"body", 9)]
    finally:
        rig.close()


def test_a_closed_socket_is_a_lost_connection(rig: Rig) -> None:
    lost: list[Any] = []
    rig.paho.on_disconnect = lambda *args: lost.append(args)
    rig.theirs.close()
    assert rig.reader.loop_read() == MQTTErrorCode.MQTT_ERR_CONN_LOST
    assert rig.paho._sock is None


def test_a_remaining_length_over_four_bytes_is_a_protocol_error(rig: Rig) -> None:
    assert rig.feed(b"\x30\xff\xff\xff\xff\x01") == MQTTErrorCode.MQTT_ERR_PROTOCOL
    assert rig.paho._sock is None
