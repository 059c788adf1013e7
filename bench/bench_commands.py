"""Commands per second through the Liandong application, beside a raw eventsourcing
recorder inserting the same events in the same transactions on the same store.

    .venv/bin/python -m bench.bench_commands [--cases 300]

Goal (issue 3): the application reaches at least 0.5 of the raw recorder's rate.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from functools import partial
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from api.settings import store_env
from bench.common import postgres_dsn, postgres_schema, report, timed
from domain import commands as c
from domain.application import Liandong
from domain.uscc import with_check_character
from domain.values import Actor, Evidence, ProblemKind, Utility

TOWN = Actor(unit="town:degan")


def workload(app: Liandong, cases: int) -> list[int]:
    """A realistic mix per case: list, classify, order suspension, a denial, a problem,
    request acceptance, two sign-offs. Returns how many events each command recorded."""
    recorded: list[int] = []

    def run(actor: Actor, command: c.Command) -> UUID:
        result = app.handle(actor, command)
        recorded.append(result.events)
        return result.aggregate_id

    deadline = app.clock() + timedelta(days=30)
    for i in range(cases):
        case_id = run(
            TOWN,
            c.ListEnterprise(
                name=f"厂{i}",
                uscc=with_check_character(f"91500116MA{i:07d}"),
                address="德感",
                town="town:degan",
                licensed=True,
                connections=(
                    c.Connection(utility=Utility.POWER),
                    c.Connection(utility=Utility.WATER),
                ),
                problems=(c.ProblemInput(kind=ProblemKind.NO_EIA, description="未环评"),),
            ),
        )
        run(
            Actor(unit="economy"),
            c.Classify(case_id=case_id, disposition="rectify", reason="r", deadline=deadline),
        )
        run(TOWN, c.OrderSuspension(case_id=case_id, document_number="d"))
        run(
            Actor(unit="ecology"),
            c.DenyApproval(
                case_id=case_id, approval_kind="permit", application_ref="a", reason="r"
            ),
        )
        run(
            Actor(unit="fire"),
            c.RecordProblem(case_id=case_id, kind=ProblemKind.FIRE_HAZARD, description="通道"),
        )
        run(
            TOWN,
            c.RequestAcceptance(
                case_id=case_id, evidence=(Evidence(sha256="a" * 64, locator="x"),)
            ),
        )
        run(Actor(unit="ecology"), c.SignAcceptance(case_id=case_id, passed=True))
        run(Actor(unit="fire"), c.SignAcceptance(case_id=case_id, passed=True))
    return recorded


def same_transactions(app: Liandong, recorded: list[int]) -> list[list[StoredEvent]]:
    """The stored events the application wrote, grouped as its transactions were."""
    notifications = app.recorder.select_notifications(1, sum(recorded))
    batches, at = [], 0
    for size in recorded:
        batches.append(
            [
                StoredEvent(
                    originator_id=n.originator_id,
                    originator_version=n.originator_version,
                    topic=n.topic,
                    state=n.state,
                )
                for n in notifications[at : at + size]
            ]
        )
        at += size
    return batches


def raw_inserts(app: Liandong, batches: list[list[StoredEvent]]) -> None:
    for batch in batches:
        app.recorder.insert_events(batch)


def raw_event_by_event(app: Liandong, batches: list[list[StoredEvent]]) -> None:
    for batch in batches:
        for event in batch:
            app.recorder.insert_events([event])


def measure(
    store: str, urls: Callable[[], Iterator[tuple[str, str, str]]], cases: int, repeats: int
) -> list[tuple[str, str]]:
    """Best of `repeats` runs of each side, each run on fresh stores."""
    app_best = raw_best = single_best = float("inf")
    commands = events = transactions = 0
    for app_url, raw_url, single_url in itertools.islice(urls(), repeats):
        app = Liandong(env=store_env(app_url))
        recorded, app_seconds = timed(partial(workload, app, cases))
        batches = same_transactions(app, recorded)
        raw = Liandong(env=store_env(raw_url))
        _, raw_seconds = timed(partial(raw_inserts, raw, batches))
        raw.close()
        single = Liandong(env=store_env(single_url))
        _, single_seconds = timed(partial(raw_event_by_event, single, batches))
        app.close()
        single.close()
        app_best, raw_best = min(app_best, app_seconds), min(raw_best, raw_seconds)
        single_best = min(single_best, single_seconds)
        commands, events, transactions = len(recorded), sum(recorded), len(batches)
    ratio = raw_best / app_best
    return [
        (f"{store}: commands", f"{commands} ({events} events, {transactions} transactions)"),
        (
            f"{store}: application",
            f"{commands / app_best:,.0f} commands/s, {events / app_best:,.0f} events/s",
        ),
        (f"{store}: raw recorder", f"{events / raw_best:,.0f} events/s (same transactions)"),
        (
            f"{store}: raw, event by event",
            f"{events / single_best:,.0f} events/s (one insert_events call per event)",
        ),
        (
            f"{store}: ratio",
            f"{ratio:.2f} of raw in the same transactions (goal >= 0.5) "
            f"{'PASS' if ratio >= 0.5 else 'BELOW GOAL'}; "
            f"{single_best / app_best:.2f} of the event-by-event loop",
        ),
    ]


def sqlite_urls() -> Iterator[tuple[str, str, str]]:
    while True:
        with tempfile.TemporaryDirectory() as tmp:
            yield (
                f"sqlite:///{tmp}/app.sqlite",
                f"sqlite:///{tmp}/raw.sqlite",
                f"sqlite:///{tmp}/single.sqlite",
            )


def postgres_urls() -> Iterator[tuple[str, str, str]]:
    dsn = postgres_dsn()
    while True:
        with postgres_schema(dsn) as a, postgres_schema(dsn) as b, postgres_schema(dsn) as c:
            yield a, b, c


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = measure("sqlite", sqlite_urls, args.cases, args.repeats)
    rows += measure("postgres", postgres_urls, args.cases, args.repeats)
    report(f"bench_commands: {args.cases} cases x 8 commands, best of {args.repeats}", rows)


if __name__ == "__main__":
    main()
