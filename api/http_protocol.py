"""The HTTP protocol `liandong serve` runs, with Nagle's algorithm off on every connection.

uvicorn's `--workers N` binds the listening socket itself without naming TCP, so asyncio
does not set TCP_NODELAY on the connections it accepts (uvicorn issue #3149). A response
whose headers and body go out in two writes then waits for the client's delayed ACK:
about 40 ms on Linux for every keep-alive request after the first. Setting the option on
each connection here makes several processes answer as fast as one.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.auto import AutoHTTPProtocol


class NoDelayHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    def connection_made(self, transport: asyncio.Transport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


IMPORT_PATH = "api.http_protocol:NoDelayHTTPProtocol"
