"""Checks the evidence store against the audit trail (`liandong audit verify --files`).

The trail records each piece of evidence's SHA-256, and its entries are chained, so the
hash a case cites cannot be changed unnoticed. What remains to check is the files: every
file kept must still hash to its name (a file swapped or damaged on disk or in the
bucket does not), and every file the trail cites as kept here must be there.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from domain.values import HELD_HERE
from gateways.evidence_store import EvidenceStore, sha256_of_chunks


@dataclass
class FilesReport:
    checked: int = 0
    cited_here: int = 0
    cited_elsewhere: int = 0
    problems: list[str] = field(default_factory=list)


def citations(entries: Iterable[dict[str, Any]]) -> Iterator[tuple[int, str, str]]:
    """(entry seq, sha256, locator) of every piece of evidence the trail's entries cite."""
    for entry in entries:
        for evidence in entry["payload"].get("evidence", ()):
            yield int(entry["seq"]), evidence["sha256"], evidence.get("locator", HELD_HERE)


def check_files(store: EvidenceStore, entries: Iterable[dict[str, Any]]) -> FilesReport:
    report = FilesReport()
    kept = set()
    for sha256 in store.hashes():
        kept.add(sha256)
        report.checked += 1
        actual = sha256_of_chunks(store.chunks(sha256))
        if actual != sha256:
            report.problems.append(
                f"file {sha256} does not hash to its name (its bytes hash to {actual}): "
                "swapped or damaged"
            )
    missing: dict[str, int] = {}
    for seq, sha256, locator in citations(entries):
        if locator != HELD_HERE:
            report.cited_elsewhere += 1
            continue
        report.cited_here += 1
        if sha256 not in kept:
            missing.setdefault(sha256, seq)
    for sha256, seq in missing.items():
        report.problems.append(f"entry {seq} cites file {sha256}, which the store does not hold")
    return report
