"""`liandong`: the command line of every Liandong process."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from api.settings import Settings

if TYPE_CHECKING:
    from api.bootstrap import Services


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app
    from api.bootstrap import bootstrap
    from api.demo import load_demo

    settings = Settings()
    services = bootstrap(settings)
    if args.demo:
        loaded = load_demo(services.app)
        print(
            f"demo ledger: {loaded} events recorded"
            if loaded
            else "demo ledger: store already holds events, nothing loaded",
            flush=True,
        )
    uvicorn.run(
        create_app(services),
        host=args.host or settings.api_host,
        port=args.port or settings.api_port,
        log_level="info",
    )
    return 0


def _demo(_: argparse.Namespace) -> int:
    from api.bootstrap import bootstrap
    from api.demo import load_demo

    services = bootstrap()
    print(f"{load_demo(services.app)} events recorded")
    return 0


def _worker(run: Callable[[Services, threading.Event], None]) -> int:
    """Runs one background worker until SIGTERM or SIGINT."""
    from api.bootstrap import bootstrap

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    services = bootstrap()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        run(services, stop)
    finally:
        services.close()
    return 0


def _relay(args: argparse.Namespace) -> int:
    def run(services: Services, stop: threading.Event) -> None:
        if args.metrics_port:
            from prometheus_client import start_http_server

            start_http_server(args.metrics_port, addr="127.0.0.1")
        services.relay().run(stop)

    return _worker(run)


def _units(_: argparse.Namespace) -> int:
    from domain.units import default_registry

    for unit in default_registry().all():
        print(f"{unit.id:28} {unit.kind:12} {unit.name_zh}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="liandong", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the REST API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--demo", action="store_true", help="load the demo ledger into an empty store"
    )
    serve.set_defaults(func=_serve)
    sub.add_parser("demo", help="load the demo ledger").set_defaults(func=_demo)
    relay = sub.add_parser("relay", help="publish every stored event to Kafka, exactly once")
    relay.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on 127.0.0.1")
    relay.set_defaults(func=_relay)
    units = sub.add_parser("units", help="the units registry")
    units.add_argument("subcommand", choices=["list"])
    units.set_defaults(func=_units)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
