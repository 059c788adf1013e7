"""Asks a Kafka broker for its metadata, with the standard library only.

Used by kafka.sh so that `start` returns only once the broker really answers
the protocol (an open port is not enough: the listener opens before the
controller has elected itself). Exit 0 when at least one broker is listed.
Metadata v4 is the oldest version Kafka 4.x still serves (KIP-896).
"""

from __future__ import annotations

import socket
import struct
import sys


def metadata_brokers(host: str, port: int, timeout: float = 2.0) -> int:
    client_id = b"liandong-probe"
    correlation_id = 7
    header = struct.pack(">hhih", 3, 4, correlation_id, len(client_id)) + client_id
    body = struct.pack(">ib", -1, 0)  # all topics, no auto-creation
    request = header + body
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(struct.pack(">i", len(request)) + request)
        size = struct.unpack(">i", _read(sock, 4))[0]
        payload = _read(sock, size)
    got_id, _throttle, brokers = struct.unpack(">iii", payload[:12])
    if got_id != correlation_id:
        raise OSError(f"correlation id {got_id} != {correlation_id}")
    return brokers


def _read(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise OSError("connection closed by broker")
        data += chunk
    return data


if __name__ == "__main__":
    address = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9092"
    host, _, port = address.rpartition(":")
    try:
        count = metadata_brokers(host, int(port))
    except (OSError, struct.error) as exc:
        print(f"no answer from {address}: {exc}", file=sys.stderr)
        sys.exit(1)
    sys.exit(0 if count >= 1 else 1)
