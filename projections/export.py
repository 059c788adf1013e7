"""Exports of the audit trail (CSV, JSON Lines) and their offline verification.

An export holds every entry with its `prev_hash` and `entry_hash`. Verification
recomputes each hash from the entry's content and the previous hash, so it finds
the first entry that was altered, removed or moved; with the published head digest
it also finds entries cut off the end.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from projections.audit import FIELDS, GENESIS, entry_hash

COLUMNS = (*FIELDS, "prev_hash", "entry_hash")


def jsonl_lines(entries: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    for entry in entries:
        yield orjson.dumps({k: entry[k] for k in COLUMNS}) + b"\n"


def csv_lines(entries: Iterable[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for entry in entries:
        writer.writerow(
            [
                orjson.dumps(entry[k]).decode()
                if k in ("evidence", "payload")
                else ("" if entry[k] is None else entry[k])
                for k in COLUMNS
            ]
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()


def read_export(path: Path) -> Iterator[dict[str, Any]]:
    """Entries of a JSON Lines or CSV export, as they were written."""
    with path.open("rb") as f:
        first = f.read(1)
    if first == b"{":
        with path.open("rb") as f:
            for line in f:
                if line.strip():
                    yield orjson.loads(line)
        return
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            entry: dict[str, Any] = dict(row)
            entry["seq"], entry["position"] = int(row["seq"]), int(row["position"])
            entry["evidence"] = orjson.loads(row["evidence"])
            entry["payload"] = orjson.loads(row["payload"])
            for nullable in ("person", "action"):
                entry[nullable] = row[nullable] or None
            yield entry


def _check(
    entry: dict[str, Any], line: int, previous_hash: str, expected_seq: int
) -> list[Finding]:
    seq = int(entry["seq"])
    if seq != expected_seq:
        kind = "removed" if seq > expected_seq else "moved or duplicated"
        return [
            Finding(
                line, seq, f"expected entry {expected_seq} here, found entry {seq}: entries {kind}"
            )
        ]
    if entry["prev_hash"] != previous_hash:
        return [
            Finding(
                line, seq, "prev_hash does not match the entry before: the chain was broken here"
            )
        ]
    if entry_hash(entry["prev_hash"], entry) != entry["entry_hash"]:
        return [Finding(line, seq, "content does not match its hash: entry altered")]
    return []


@dataclass(frozen=True)
class Finding:
    line: int  # 1-based line (entry) number in the export
    seq: int | None
    problem: str


def verify(entries: Iterable[dict[str, Any]], head: str | None = None) -> list[Finding]:
    """Problems found in an exported chain (empty when it is intact). A line that is not an
    audit entry at all is a finding too, located like any other."""
    findings: list[Finding] = []
    previous_hash, expected_seq, line = GENESIS, 1, 0
    reading = iter(entries)
    while not findings:
        line += 1
        try:
            entry = next(reading)
        except StopIteration:
            line -= 1
            break
        except (ValueError, KeyError, TypeError, csv.Error) as unreadable:
            findings.append(Finding(line, None, f"not an audit entry: {unreadable}"))
            break
        try:
            findings += _check(entry, line, previous_hash, expected_seq)
            previous_hash, expected_seq = entry["entry_hash"], int(entry["seq"]) + 1
        except (ValueError, KeyError, TypeError) as malformed:
            findings.append(Finding(line, None, f"not an audit entry: missing or bad {malformed}"))
    # The first break locates the tampering; later entries follow from it.
    if not findings and head is not None and previous_hash != head:
        findings.append(
            Finding(
                line,
                expected_seq - 1,
                "the last entry is not the published "
                "head: entries were cut off the end, or the head is stale",
            )
        )
    return findings
