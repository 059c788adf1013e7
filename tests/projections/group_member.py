"""One process of a projection's consumer group, for the scale-out tests:

    python -m tests.projections.group_member VIEW_STORE BOOTSTRAP TOPIC GROUP_ID

It runs the status view with a tally beside it: every record the runner hands the
projection adds one to its position's count, in the same transaction. The status view
alone would hide a record applied twice (it skips a case's versions it has seen), so
the tally is what shows that the runners, not the view, applied each record once.
It commits no offsets to Kafka (ForgetfulGroupRunner). It logs each assignment
("assigned partitions [...]") and runs until SIGTERM or SIGKILL.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

from kafka import KafkaConsumer

from projections.db import Database, Tx
from projections.runner import EventRecord, Projection, ProjectionRunner
from projections.status import KEYS, SCHEMA, TABLES, StatusProjection


class TalliedStatus(StatusProjection):
    base_name = "tallied"
    schema: dict[str, str] = {  # noqa: RUF012 (the base class's shape, extended)
        **SCHEMA,
        "tally": "(position BIGINT PRIMARY KEY, times INTEGER NOT NULL)",
    }
    tables = (*TABLES, "tally")
    keys: dict[str, tuple[str, ...]] = {**KEYS, "tally": ("position",)}  # noqa: RUF012

    def shadow(self) -> Projection:
        return type(self)(self.suffix + "__rebuild", self.cache_size)

    def apply_all(self, tx: Tx, events: list[EventRecord]) -> dict[int, int]:
        consumed = super().apply_all(tx, events)
        tally = self.t("tally")
        tx.executemany(
            f"INSERT INTO {tally} (position, times) VALUES (?, 1) "
            f"ON CONFLICT (position) DO UPDATE SET times = {tally}.times + 1",
            [(event.position,) for event in events],
        )
        return consumed


class ForgetfulGroupRunner(ProjectionRunner):
    """Commits no offsets to Kafka: the group's committed offsets are only for lag tools,
    so the runners must resume from the view's own. Without them in Kafka, a runner that
    took a partition over from Kafka's offsets would start it from the beginning."""

    def _commit_group_offsets(self, consumer: KafkaConsumer) -> None:
        pass


def main(view_store: str, bootstrap: str, topic: str, group_id: str) -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
    stop = threading.Event()

    def stopping(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, stopping)
    runner = ForgetfulGroupRunner(
        TalliedStatus(), Database(view_store), bootstrap, topic, group_id=group_id, in_group=True
    )
    runner.run(stop)


if __name__ == "__main__":
    main(*sys.argv[1:5])
