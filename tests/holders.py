"""Another process that takes something (a lock, a transaction) and holds it while a
test acts: a real second process, as a projection batch or a second command would be."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tests.infra_fixtures import REPO


@contextmanager
def holding(code: str, *args: str) -> Iterator[subprocess.Popen[str]]:
    """Runs `code` (which prints "held" once it holds) with `args`; yields the process
    once it holds, and kills it at the end. It reads its stdin, so a test can tell it
    to let go by writing a line."""
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "held"
        yield process
    finally:
        process.kill()
        process.wait()
