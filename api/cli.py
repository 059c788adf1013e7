"""`liandong`: the command line of every Liandong process."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from api.cli_views import add_commands as add_view_commands
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
    stop = threading.Event()
    workers = []
    if args.workers:
        # One process for a local setup; production runs `liandong relay`,
        # `liandong receipts` and `liandong projections run` as processes of their own.
        from gateways.receipts import ReceiptGateway

        receipts = ReceiptGateway(services.app, settings.kafka_bootstrap, services.topics)
        targets = [("relay", services.relay().run), ("receipts", receipts.run)]
        targets += [(name, services.projection_runner(name).run) for name in ("status", "audit")]
        for name, target in targets:
            worker = threading.Thread(target=target, args=(stop,), name=name, daemon=True)
            worker.start()
            workers.append(worker)
    try:
        uvicorn.run(
            create_app(services),
            host=args.host or settings.api_host,
            port=args.port or settings.api_port,
            log_level="info",
        )
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=10)
    return 0


def _demo(_: argparse.Namespace) -> int:
    from api.bootstrap import bootstrap
    from api.demo import load_demo

    services = bootstrap()
    print(f"{load_demo(services.app)} events recorded")
    return 0


def worker(run: Callable[[Services, threading.Event], None]) -> int:
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

    return worker(run)


def _receipts(_: argparse.Namespace) -> int:
    def run(services: Services, stop: threading.Event) -> None:
        from gateways.receipts import ReceiptGateway

        ReceiptGateway(services.app, services.settings.kafka_bootstrap, services.topics).run(stop)

    return worker(run)


def _utility_agent(args: argparse.Namespace) -> int:
    from domain.values import Utility
    from gateways.agent import UtilityAgent, automatic, prompt_decision
    from gateways.topics import Topics

    settings = Settings()
    agent = UtilityAgent(
        settings.kafka_bootstrap,
        Topics(prefix=settings.topic_prefix),
        Utility(args.utility),
        settings.order_signing_key.encode(),
        person=args.person,
    )
    decide = (
        automatic(args.auto, args.meter, args.reading)
        if args.auto
        else prompt_decision(sys.stdin, sys.stdout)
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    handled = agent.run(decide, stop, max_orders=args.max_orders)
    print(f"{handled} order(s) handled", flush=True)
    return 0


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
    serve.add_argument(
        "--workers",
        action="store_true",
        help="also run the relay, the receipts gateway and the projections in this process",
    )
    serve.set_defaults(func=_serve)
    sub.add_parser("demo", help="load the demo ledger").set_defaults(func=_demo)
    relay = sub.add_parser("relay", help="publish every stored event to Kafka, exactly once")
    relay.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on 127.0.0.1")
    relay.set_defaults(func=_relay)
    sub.add_parser("receipts", help="turn utilities' receipts into commands").set_defaults(
        func=_receipts
    )
    agent = sub.add_parser("utility-agent", help="reference client for a utility's IT staff")
    agent.add_argument("--utility", required=True, choices=["power", "water", "gas"])
    agent.add_argument(
        "--auto", choices=["acknowledge", "execute"], help="act on every order without asking"
    )
    agent.add_argument("--meter", help="meter number for --auto execute (default: the order's)")
    agent.add_argument("--reading", type=float, default=0.0)
    agent.add_argument("--person", help="who at the utility acts")
    agent.add_argument("--max-orders", type=int, help="exit after handling this many")
    agent.set_defaults(func=_utility_agent)
    add_view_commands(sub)
    units = sub.add_parser("units", help="the units registry")
    units.add_argument("subcommand", choices=["list"])
    units.set_defaults(func=_units)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
