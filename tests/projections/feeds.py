"""Finding the projection feed processes of a topic (tests/projections only): they are
found by their command line, `python -m projections.feed ... --topic T ...`."""

from __future__ import annotations

import subprocess

_COMMAND = "projections[.]feed .*"


def feed_running(pattern: str) -> bool:
    return subprocess.run(["pgrep", "-f", _COMMAND + pattern]).returncode == 0


def kill_feeds(pattern: str) -> int:
    """SIGKILLs the feed processes whose command line matches; pkill's exit status."""
    return subprocess.run(["pkill", "-KILL", "-f", _COMMAND + pattern]).returncode
