"""`liandong`: the command line of every Liandong process."""

from __future__ import annotations

import argparse
import sys

from api.settings import Settings


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
    units = sub.add_parser("units", help="the units registry")
    units.add_argument("subcommand", choices=["list"])
    units.set_defaults(func=_units)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
