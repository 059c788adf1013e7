"""`liandong projections ...` and `liandong audit ...`: running, rebuilding and checking
the read models."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from api.settings import Settings
from projections.collector import collect_less_often

if TYPE_CHECKING:
    from api.bootstrap import Services


VIEWS = ["status", "audit"]


def chosen(names: list[str]) -> list[str]:
    """The views named on the command line (all when none); an unknown name is a usage error.
    (argparse's `choices` cannot be used: Python 3.11 checks an empty list against them.)"""
    unknown = sorted(set(names) - set(VIEWS))
    if unknown:
        sys.exit(
            f"liandong projections: unknown view {', '.join(unknown)}; "
            f"choose from {', '.join(VIEWS)}"
        )
    return names or VIEWS


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    projections = sub.add_parser("projections", help="run or rebuild the read models")
    psub = projections.add_subparsers(dest="projections_command", required=True)
    run = psub.add_parser("run", help="follow the events topic live")
    run.add_argument("names", nargs="*", metavar="VIEW", help="status, audit (default: both)")
    run.add_argument(
        "--in-group",
        action="store_true",
        help="share the events topic's partitions with every other process run so "
        "(the status view only: the audit chain is one process's)",
    )
    run.set_defaults(func=_run)
    rebuild = psub.add_parser("rebuild", help="replay from the start into fresh views, swap in")
    rebuild.add_argument("names", nargs="*", metavar="VIEW", help="status, audit (default: both)")
    rebuild.set_defaults(func=_rebuild)
    digest = psub.add_parser("digest", help="print each view's digest")
    digest.add_argument("names", nargs="*", metavar="VIEW", help="status, audit (default: both)")
    digest.set_defaults(func=_digest)

    audit = sub.add_parser("audit", help="export or verify the audit trail")
    asub = audit.add_subparsers(dest="audit_command", required=True)
    verify = asub.add_parser(
        "verify", help="check an exported trail offline, and (--files) the evidence files"
    )
    verify.add_argument("file", type=Path, nargs="?", help="an export (GET /audit/export.jsonl)")
    verify.add_argument("--head", help="the published head digest (GET /audit/head)")
    verify.add_argument(
        "--files",
        action="store_true",
        help="also check the evidence store: every file hashes to its name, every file the "
        "trail (the export, or else the audit view) cites as kept here is there",
    )
    verify.set_defaults(func=_verify)
    export = asub.add_parser("export", help="write the trail as JSON Lines or CSV")
    export.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    export.add_argument("--out", type=Path, required=True)
    export.set_defaults(func=_export)


def _run(args: argparse.Namespace) -> int:
    from api.cli import run_threads, worker

    names = chosen(args.names)
    if args.in_group and names != ["status"]:
        sys.exit(
            "liandong projections run --in-group: only the status view can be shared between "
            "processes (each audit entry follows the one before); name it: run status --in-group"
        )

    def run(services: Services, stop: threading.Event) -> None:
        runners = [services.projection_runner(name, args.in_group) for name in names]
        collect_less_often()
        run_threads([(r.projection.name, r.run) for r in runners], stop)

    return worker(run)


def _rebuild(args: argparse.Namespace) -> int:
    from api.bootstrap import bootstrap
    from projections.runner import rebuild

    services = bootstrap()
    db = services.db  # creates the views when missing
    collect_less_often()
    for name in chosen(args.names):
        projection = services.projections()[name]

        def progress(done: int, total: int, name: str = name) -> None:
            print(f"\r{name}: {done}/{total} offsets", end="", file=sys.stderr, flush=True)

        rebuild(
            db,
            projection,
            services.settings.kafka(),
            services.topics.events.name,
            progress,
            feed_backlog=services.settings.projection_feed_backlog,
            batch_records=services.settings.projection_batch_records,
        )
        print(f"\n{name}: rebuilt and swapped in; digest {projection.digest(db)}", flush=True)
    return 0


def _digest(args: argparse.Namespace) -> int:
    from api.bootstrap import bootstrap

    services = bootstrap()
    db = services.db  # creates the views when missing
    collect_less_often()
    for name in chosen(args.names):
        print(f"{name} {services.projections()[name].digest(db)}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from projections.export import read_export, verify

    if args.file is None and not args.files:
        sys.exit("liandong audit verify: give an export FILE, --files, or both")
    intact = True
    if args.file is not None:
        findings = verify(read_export(args.file), head=args.head)
        for f in findings:
            where = f"entry {f.seq}" if f.seq is not None else "no entry"
            print(f"{args.file}: line {f.line}, {where}: {f.problem}")
        if not findings:
            print(f"{args.file}: intact" + (" and ends at the published head" if args.head else ""))
        intact = not findings
    if args.files:
        intact = _verify_files(args.file) and intact
    return 0 if intact else 1


def _verify_files(export: Path | None) -> bool:
    from api.bootstrap import bootstrap
    from gateways.evidence_audit import check_files
    from projections.audit import AuditProjection, iter_entries
    from projections.export import read_export

    services = bootstrap(Settings())
    entries = (
        read_export(export)
        if export is not None
        else iter_entries(services.views(), AuditProjection())
    )
    report = check_files(services.evidence, entries)
    for problem in report.problems:
        print(f"evidence: {problem}")
    print(
        f"evidence ({services.evidence.description}): {report.checked} files checked, "
        f"{report.cited_here} citations of files kept here, {report.cited_elsewhere} of "
        f"files kept elsewhere (not checked): "
        + ("intact" if not report.problems else f"{len(report.problems)} problems")
    )
    return not report.problems


def _export(args: argparse.Namespace) -> int:
    from api.bootstrap import bootstrap
    from projections.audit import AuditProjection, iter_entries
    from projections.export import csv_lines, jsonl_lines

    db = bootstrap(Settings()).views()
    entries = iter_entries(db, AuditProjection())
    if args.format == "jsonl":
        with args.out.open("wb") as out:
            out.writelines(jsonl_lines(entries))
    else:
        with args.out.open("w", newline="", encoding="utf-8") as text:
            text.writelines(csv_lines(entries))
    print(f"written {args.out}")
    return 0
