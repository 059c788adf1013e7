"""Asks a Kafka broker for its metadata, with the standard library only.

Used by infra/kafka/kafka.sh (run as a script, before any virtualenv exists) so
that `start` returns only once the broker really answers the protocol (an open
port is not enough: the listener opens before the controller has elected
itself), and by GET /health, which must see a stopped broker within seconds
without a client library's retry loops. Metadata v4 is the oldest version
Kafka 4.x still serves (KIP-896). On a listener that needs TLS or SASL, the probe asks
ApiVersions instead, which brokers answer before authentication (over TLS when the
listener uses it): the broker's liveness is what /health reports; a client that cannot
authenticate shows in the relay's lag and logs.
"""

from __future__ import annotations

import socket
import ssl
import struct
import sys
from collections.abc import Callable

CLIENT_ID = b"liandong-probe"


def _ask(
    host: str,
    port: int,
    api_key: int,
    version: int,
    body: bytes,
    timeout: float,
    tls: ssl.SSLContext | None = None,
) -> bytes:
    """Sends one request (header v1) and returns the response after its correlation id."""
    correlation_id = 7
    header = struct.pack(">hhih", api_key, version, correlation_id, len(CLIENT_ID)) + CLIENT_ID
    request = header + body
    with socket.create_connection((host, port), timeout=timeout) as raw:
        sock = tls.wrap_socket(raw, server_hostname=host) if tls else raw
        sock.settimeout(timeout)
        sock.sendall(struct.pack(">i", len(request)) + request)
        size = struct.unpack(">i", _read(sock, 4))[0]
        payload = _read(sock, size)
    (got_id,) = struct.unpack(">i", payload[:4])
    if got_id != correlation_id:
        raise OSError(f"correlation id {got_id} != {correlation_id}")
    return payload[4:]


def metadata_brokers(host: str, port: int, timeout: float = 2.0) -> int:
    """Metadata v4 for no topic in particular: how many brokers the cluster lists."""
    response = _ask(host, port, 3, 4, struct.pack(">ib", -1, 0), timeout)  # no auto-creation
    _throttle, brokers = struct.unpack(">ii", response[:8])
    return int(brokers)


def broker_answers(bootstrap: str, timeout: float = 2.0) -> tuple[bool, str]:
    """Whether any of the comma-separated bootstrap servers answers, and what it said."""

    def ask(host: str, port: int) -> str | None:
        count = metadata_brokers(host, port, timeout)
        return f"lists {count} broker(s)" if count >= 1 else None

    return _first_answer(bootstrap, ask, "no brokers listed")


def _first_answer(
    bootstrap: str, ask: Callable[[str, int], str | None], silent: str
) -> tuple[bool, str]:
    """Asks each bootstrap server in turn until one answers (`ask` returns what it
    said, or None when the answer does not count, reported as `silent`)."""
    errors = []
    for address in bootstrap.split(","):
        host, _, port = address.strip().rpartition(":")
        try:
            said = ask(host, int(port))
        except (OSError, ValueError, struct.error) as exc:
            errors.append(f"{address}: {exc}")
            continue
        if said is not None:
            return True, f"{address} {said}"
        errors.append(f"{address}: {silent}")
    return False, "; ".join(errors)


def api_versions_count(
    host: str, port: int, timeout: float = 2.0, tls: ssl.SSLContext | None = None
) -> int:
    """ApiVersions v0 (answered before any SASL exchange): how many APIs the broker lists."""
    error, count = struct.unpack(">hi", _ask(host, port, 18, 0, b"", timeout, tls)[:6])
    if error:
        raise OSError(f"ApiVersions error {error}")
    return int(count)


def secured_broker_answers(
    bootstrap: str, use_tls: bool, cafile: str | None = None, timeout: float = 2.0
) -> tuple[bool, str]:
    """Whether any bootstrap server of a TLS or SASL listener answers."""
    tls = ssl.create_default_context(cafile=cafile) if use_tls else None

    def ask(host: str, port: int) -> str:
        count = api_versions_count(host, port, timeout, tls)
        return f"answers ({count} APIs; the probe does not authenticate)"

    return _first_answer(bootstrap, ask, "no answer")


def _read(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise OSError("connection closed by broker")
        data += chunk
    return data


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9092"
    if "--before-authentication" in sys.argv:  # a listener that authenticates every client
        ok, detail = secured_broker_answers(target, use_tls=False)
    else:
        ok, detail = broker_answers(target)
    if not ok:
        print(f"no answer: {detail}", file=sys.stderr)
    sys.exit(0 if ok else 1)
