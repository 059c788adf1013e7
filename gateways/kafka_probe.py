"""Asks a Kafka broker for its metadata, with the standard library only.

Used by infra/kafka/kafka.sh (run as a script, before any virtualenv exists) so
that `start` returns only once the broker really answers the protocol (an open
port is not enough: the listener opens before the controller has elected
itself), and by GET /health, which must see a stopped broker within seconds
without a client library's retry loops. Metadata v4 is the oldest version
Kafka 4.x still serves (KIP-896). PLAINTEXT listeners only.
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
    return int(brokers)


def broker_answers(bootstrap: str, timeout: float = 2.0) -> tuple[bool, str]:
    """Whether any of the comma-separated bootstrap servers answers, and what it said."""
    errors = []
    for address in bootstrap.split(","):
        host, _, port = address.strip().rpartition(":")
        try:
            count = metadata_brokers(host, int(port), timeout)
        except (OSError, ValueError, struct.error) as exc:
            errors.append(f"{address}: {exc}")
            continue
        if count >= 1:
            return True, f"{address} lists {count} broker(s)"
        errors.append(f"{address}: no brokers listed")
    return False, "; ".join(errors)


def _read(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise OSError("connection closed by broker")
        data += chunk
    return data


if __name__ == "__main__":
    ok, detail = broker_answers(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9092")
    if not ok:
        print(f"no answer: {detail}", file=sys.stderr)
    sys.exit(0 if ok else 1)
