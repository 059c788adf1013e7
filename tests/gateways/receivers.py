"""Real HTTP receivers for webhook tests: servers on loopback ports that record what
they receive, and misbehave as told (answer 500, close the connection, answer slowly,
or not listen at all until started)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# What a receiver does with its n-th request (0-based): "ok", "500", "close", or a
# number of seconds to wait before answering 200.
Behaviour = Callable[[int], "str | float"]


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when it arrived


@dataclass
class Receiver:
    behaviour: Behaviour = lambda n: "ok"
    port: int = 0
    received: list[Received] = field(default_factory=list)  # answered with a 2xx
    requests: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver._lock:
                    n = receiver.requests
                    receiver.requests += 1
                what = receiver.behaviour(n)
                if what == "close":
                    self.close_connection = True
                    self.connection.close()  # no response at all
                    return
                if what == "500":
                    self.send_response(500)
                    self.end_headers()
                    self.wfile.write(b"broken")
                    return
                if isinstance(what, float | int):
                    time.sleep(float(what))
                with receiver._lock:
                    receiver.received.append(
                        Received(
                            {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic()
                        )
                    )
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self.port, "start it, or give it a port"
        return f"http://127.0.0.1:{self.port}/hook"

    def ids(self) -> set[str]:
        with self._lock:
            return {r.headers["webhook-id"] for r in self.received}

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
