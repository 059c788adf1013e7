"""`liandong`: the command line of every Liandong process."""

from __future__ import annotations

import argparse
import getpass
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from api.cli_documents import add_commands as add_document_commands
from api.cli_ledger import add_commands as add_ledger_commands
from api.cli_views import add_commands as add_view_commands
from api.settings import Settings
from domain.values import Actor

if TYPE_CHECKING:
    from api.bootstrap import Services


# Every line of `serve` is JSON, uvicorn's own too (no log config of its own: its loggers
# reach ours), and each request has one access line, ours, with its request id and unit
# (api/middleware.py), rather than that and uvicorn's plain one besides.
LOGGING: dict[str, Any] = {"log_config": None, "log_level": "info", "access_log": False}


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app
    from api.bootstrap import bootstrap
    from api.http_protocol import IMPORT_PATH as NODELAY_HTTP
    from api.middleware import configure_json_logging

    configure_json_logging()
    settings = Settings()
    if args.processes < 1:
        print("liandong serve: --processes must be at least 1", file=sys.stderr)
        return 2
    if args.processes > 1 and args.workers:
        print(
            "liandong serve: --workers runs the relay and the projections inside the API "
            "process, which cannot be copied; with --processes run them as processes of "
            "their own (liandong relay, liandong projections run, ...)",
            file=sys.stderr,
        )
        return 2
    services = bootstrap(settings)
    if args.demo:
        loaded = load_demo_once(services)
        print(
            f"demo ledger: {loaded} events recorded"
            if loaded
            else "demo ledger: store already holds events, nothing loaded",
            flush=True,
        )
        demo_keys(services)
    stop = threading.Event()
    workers = []
    if args.workers:
        # One process for a local setup; production runs `liandong relay`,
        # `liandong receipts`, `liandong projections run`, `liandong reminders` and
        # `liandong notify` as processes of their own.
        receipts = services.receipt_gateway()
        targets: list[tuple[str, Callable[[threading.Event], None]]] = [
            ("relay", services.relay().run),
            ("receipts", receipts.run),
        ]
        targets += [(name, services.projection_runner(name).run) for name in ("status", "audit")]
        targets.append(("reminders", services.reminders().run))
        targets += services.notify()
        for name, target in targets:
            worker = threading.Thread(target=target, args=(stop,), name=name, daemon=True)
            worker.start()
            workers.append(worker)
    host, port = args.host or settings.api_host, args.port or settings.api_port
    if args.processes > 1:
        # Each process makes its own app and stores (create_app bootstraps in its
        # lifespan); uvicorn's supervisor restarts one that dies.
        services.close()
        uvicorn.run(
            "api.app:create_served_app",
            factory=True,
            http=NODELAY_HTTP,
            workers=args.processes,
            host=host,
            port=port,
            **LOGGING,
        )
        return 0
    try:
        uvicorn.run(create_app(services), http=NODELAY_HTTP, host=host, port=port, **LOGGING)
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=10)
    return 0


DEMO_CAMPAIGN = 60  # generated enterprises in the demo ledger, besides the hand-made ones
DEMO_KEY_UNITS = ("district-office", "town:degan", "economy", "ecology", "market", "power")


def demo_keys(services: Services) -> None:
    """Issues demo keys once (for a local try-out) and says where they are."""
    path = services.settings.data_dir / "demo-keys.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    if services.keys.list():
        print(f"API keys: already issued (demo keys, if any, in {path})", flush=True)
        return
    lines = [f"{unit:18} {services.keys.issue(unit, 'demo').key}" for unit in DEMO_KEY_UNITS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(
        f"API keys for the demo units written to {path}, e.g.\n  curl -H 'Authorization: "
        f"Bearer {lines[0].split()[1]}' http://127.0.0.1:8000/enterprises",
        flush=True,
    )


def demo_keeper(services: Services) -> Callable[[str, str, bytes], Any]:
    """How the demo uploads its photos: as a unit would, through the evidence store."""
    import io

    from api.routers.evidence import keep_stream

    def keep(unit: str, name: str, content: bytes) -> Any:
        return keep_stream(io.BytesIO(content), name, Actor(unit=unit), services).evidence

    return keep


def load_demo_once(services: Services) -> int:
    """The demo ledger, if the store has no cases. Two processes started together (two
    `serve --demo`) take turns: the second finds the first's cases and loads nothing."""
    from api.demo import load_demo
    from api.store_lock import exclusive

    with exclusive(services.settings.event_store, "campaign", wait=True):
        return load_demo(services.app, demo_keeper(services), campaign=DEMO_CAMPAIGN)


def _demo(_: argparse.Namespace) -> int:
    from api.bootstrap import bootstrap

    services = bootstrap()
    loaded = load_demo_once(services)
    print(f"{loaded} events recorded")
    return 0


def worker(run: Callable[[Services, threading.Event], None]) -> int:
    """Runs one background worker until SIGTERM or SIGINT. A worker that stops on an error
    it cannot mend exits 1, saying why (a supervisor restarts it; /health shows it)."""
    from api.bootstrap import bootstrap

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    services = bootstrap()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        run(services, stop)
    except Exception as exc:
        print(f"liandong: stopped on an error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        services.close()
    return 0


def run_threads(
    targets: list[tuple[str, Callable[[threading.Event], None]]], stop: threading.Event
) -> None:
    """Runs workers side by side; when one fails the others are stopped and the failure
    is raised, so the process exits non-zero instead of living on with a dead thread."""
    failures: list[BaseException] = []

    def guarded(target: Callable[[threading.Event], None]) -> None:
        try:
            target(stop)
        except BaseException as exc:
            failures.append(exc)
            stop.set()

    threads = [threading.Thread(target=guarded, args=(t,), name=n) for n, t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def serve_metrics(port: int | None) -> None:
    """A worker process's own Prometheus metrics, on loopback, when given a port."""
    if port:
        from prometheus_client import start_http_server

        start_http_server(port, addr="127.0.0.1")


def _relay(args: argparse.Namespace) -> int:
    def run(services: Services, stop: threading.Event) -> None:
        serve_metrics(args.metrics_port)
        services.relay().run(stop)

    return worker(run)


def _receipts(_: argparse.Namespace) -> int:
    def run(services: Services, stop: threading.Event) -> None:
        services.receipt_gateway().run(stop)

    return worker(run)


def _reminders(args: argparse.Namespace) -> int:
    def run(services: Services, stop: threading.Event) -> None:
        serve_metrics(args.metrics_port)
        services.reminders().run(stop)

    return worker(run)


def _notify(args: argparse.Namespace) -> int:
    def run(services: Services, stop: threading.Event) -> None:
        serve_metrics(args.metrics_port)  # deliveries sent, retried, dead-lettered; latency
        run_threads(services.notify(args.in_group), stop)

    return worker(run)


def _utility_agent(args: argparse.Namespace) -> int:
    from domain.values import Utility
    from gateways.agent import UtilityAgent, automatic, prompt_decision
    from gateways.signing import SigningKey, development_key
    from gateways.topics import Topics

    settings = Settings()
    receipt_key = (
        SigningKey.load(args.signing_key_file)
        if args.signing_key_file
        else development_key(args.utility)
    )
    agent = UtilityAgent(
        settings.kafka(),
        Topics(prefix=settings.topic_prefix, event_partitions=settings.event_partitions),
        Utility(args.utility),
        settings.district_public_keys(),
        receipt_key,
        person=args.person,
        group_id=args.group,
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


def _units(args: argparse.Namespace) -> int:
    from api.bootstrap import bootstrap

    services = bootstrap()
    registry, keys = services.app.units, services.keys
    if args.subcommand == "list":
        for unit in registry.all():
            print(f"{unit.id:28} {unit.kind:12} {unit.name_zh}")
        return 0
    if args.subcommand == "list-keys":
        for key in keys.list(args.target):
            state = f"revoked {key.revoked_at}" if key.revoked_at else "active"
            holder = key.person or "(the unit)"
            print(f"{key.key_id}  {key.unit:26} {holder:12} {key.created_at}  {state}  {key.label}")
        return 0
    if not args.target:
        print(f"liandong units {args.subcommand}: name the unit (or key id)", file=sys.stderr)
        return 2
    if args.subcommand == "revoke-key":
        known = next((k for k in keys.list() if k.key_id == args.target), None)
        by = Actor(unit=known.unit if known else "district-office", person=args.by)
        revoked = keys.revoke(args.target, by=by, reason=args.reason or "revoked")
        print(f"key {args.target} revoked" if revoked else f"no active key {args.target}")
        return 0 if revoked else 1
    if args.target not in registry:
        print(f"unknown unit {args.target!r}; see `liandong units list`", file=sys.stderr)
        return 2
    # The unit's administrator acts: the issue and revocation are on the audit trail.
    by = Actor(unit=args.target, person=args.by)
    if args.subcommand == "issue-key":
        issued = keys.issue(args.target, args.label or "", person=args.person, by=by)
        holder = f" of {issued.person}" if issued.person else ""
        print(
            f"{issued.unit}: key {issued.key_id}{holder} (shown once, keep it secret)\n{issued.key}"
        )
        return 0
    issued, old = keys.rotate(args.target, args.label or "", person=args.person, by=by)
    print(
        f"{issued.unit}: new key {issued.key_id}, revoked {', '.join(old) or 'none'}\n{issued.key}"
    )
    return 0


def _kafka_acls(_: argparse.Namespace) -> int:
    from gateways.kafka_acls import ROLES, apply_acls
    from gateways.topics import Topics

    settings = Settings()
    count = apply_acls(
        settings.kafka(),
        Topics(prefix=settings.topic_prefix, event_partitions=settings.event_partitions),
        settings.relay_transactional_id,
    )
    print(f"{count} ACLs granted to the principals {', '.join(ROLES)}")
    return 0


def _new_key(args: argparse.Namespace) -> int:
    import json

    from gateways.signing import SigningKey

    if args.out.exists():
        print(f"{args.out} exists; not overwritten", file=sys.stderr)
        return 2
    key = SigningKey.generate()
    args.out.touch(mode=0o600)
    args.out.write_bytes(key.pem())
    print(json.dumps(key.public().jwk()))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args))
    except Exception as exc:
        code = _refused(args.command, exc)
        if code is None:
            raise  # a defect: its traceback is what mends it
        return code


def _parser() -> argparse.ArgumentParser:
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
    serve.add_argument(
        "--processes",
        type=int,
        default=1,
        help="API processes sharing the port (use PostgreSQL: SQLite has one writer)",
    )
    serve.set_defaults(func=_serve)
    sub.add_parser("demo", help="load the demo ledger").set_defaults(func=_demo)
    relay = sub.add_parser("relay", help="publish every stored event to Kafka, exactly once")
    relay.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on 127.0.0.1")
    relay.set_defaults(func=_relay)
    sub.add_parser("receipts", help="turn utilities' receipts into commands").set_defaults(
        func=_receipts
    )
    reminders = sub.add_parser(
        "reminders", help="remind units before deadlines; 督办 what is overdue"
    )
    reminders.add_argument("--metrics-port", type=int, help="serve Prometheus metrics")
    reminders.set_defaults(func=_reminders)
    notify = sub.add_parser(
        "notify", help="push each unit's inbox changes to its webhooks (signed, retried)"
    )
    notify.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on 127.0.0.1")
    notify.add_argument(
        "--in-group",
        action="store_true",
        help="share the outbox's partitions with every other `notify --in-group` process "
        "(the webhooks' leases already let several processes post)",
    )
    notify.set_defaults(func=_notify)
    agent = sub.add_parser("utility-agent", help="reference client for a utility's IT staff")
    agent.add_argument("--utility", required=True, choices=["power", "water", "gas"])
    agent.add_argument(
        "--auto", choices=["acknowledge", "execute"], help="act on every order without asking"
    )
    agent.add_argument("--meter", help="meter number for --auto execute (default: the order's)")
    agent.add_argument("--reading", type=float, default=0.0)
    agent.add_argument("--person", help="who at the utility acts")
    agent.add_argument("--max-orders", type=int, help="exit after handling this many")
    agent.add_argument("--group", help="consumer group (default utility-<utility>)")
    agent.add_argument(
        "--signing-key-file",
        type=Path,
        help="the utility's Ed25519 private key (PEM) that signs its receipts "
        "(default: the public development key)",
    )
    agent.set_defaults(func=_utility_agent)
    add_view_commands(sub)
    add_ledger_commands(sub)
    add_document_commands(sub)
    acls = sub.add_parser(
        "kafka-acls",
        help="grant each process role its Kafka ACLs (run with the super user's credentials)",
    )
    acls.set_defaults(func=_kafka_acls)
    keys = sub.add_parser("keys", help="signing keys of the district and the utilities")
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    new_key = ksub.add_parser("new", help="make an Ed25519 key pair; prints the public JWK")
    new_key.add_argument("--out", type=Path, required=True, help="where the private key goes")
    new_key.set_defaults(func=_new_key)
    units = sub.add_parser("units", help="the units registry and their API keys")
    units.add_argument(
        "subcommand", choices=["list", "issue-key", "rotate-key", "revoke-key", "list-keys"]
    )
    units.add_argument("target", nargs="?", help="the unit (revoke-key: the key id)")
    units.add_argument("--label", help="a note kept with the key")
    units.add_argument(
        "--person", help="the person of the unit the key belongs to (events carry the name)"
    )
    units.add_argument(
        "--by",
        default=getpass.getuser(),
        help="the administrator issuing or revoking (recorded on the audit trail)",
    )
    units.add_argument("--reason", help="why a key is revoked (recorded)")
    units.set_defaults(func=_units)
    return parser


def _refused(command: str, exc: Exception) -> int | None:
    """The exit code for a failure that is the operator's to mend, after one line per
    cause on stderr; None for any other failure (a defect)."""
    from pydantic import ValidationError

    from projections.workers import describe, is_transient

    if isinstance(exc, ValidationError) and exc.title == Settings.__name__:
        for error in exc.errors():
            # The rule, not the value given: a malformed value may be a secret.
            named = "_".join(str(part) for part in error["loc"]).upper()
            variable = f"LIANDONG_{named}" if named else "the settings"
            print(f"liandong {command}: {variable}: {error['msg']}", file=sys.stderr)
        return 2
    if not is_transient(exc):
        return None
    # A full disk, a store that cannot be opened, a database or broker that is down: one
    # line that says what failed, not a traceback.
    print(f"liandong {command}: cannot go on: {describe(exc)} ({_stores()})", file=sys.stderr)
    return 1


def _stores() -> str:
    """Where the stores are, as the settings name them (passwords left out)."""
    try:
        settings = Settings()
    except Exception:  # the settings themselves may be what failed
        return "the settings could not be read"
    return f"event store {_no_password(settings.event_store)}, view store " + _no_password(
        settings.view_store
    )


def _no_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()


if __name__ == "__main__":
    sys.exit(main())
