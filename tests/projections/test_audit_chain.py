"""The audit trail is tamper-evident: an export verifies offline, and an altered,
removed or reordered entry is detected and located."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from projections.audit import AuditProjection, iter_entries
from projections.db import Database
from projections.export import csv_lines, jsonl_lines, read_export, verify
from projections.queries import audit_head
from tests.projections.conftest import Pipeline
from tests.projections.scenario import campaign

pytestmark = pytest.mark.kafka
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def export(pipeline: Pipeline, views: Database, tmp_path: Path) -> tuple[Path, str]:
    campaign(pipeline.scenario)
    pipeline.project(views, AuditProjection())
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"".join(jsonl_lines(iter_entries(views, AuditProjection()))))
    return path, str(audit_head(views)["head"])


def lines(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def write(path: Path, entries: list[dict[str, object]]) -> None:
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in entries))


def test_an_untouched_export_verifies_against_the_published_head(export: tuple[Path, str]) -> None:
    path, head = export
    assert verify(read_export(path), head=head) == []
    assert len(lines(path)) > 40


def test_the_entries_follow_the_event_store_order(
    pipeline: Pipeline, export: tuple[Path, str]
) -> None:
    path, _ = export
    positions = [e["position"] for e in lines(path)]
    stored = [n.id for n in pipeline.app.recorder.select_notifications(1, 10_000)]
    assert positions == stored


def test_changing_one_field_is_caught_at_that_entry(export: tuple[Path, str]) -> None:
    path, head = export
    entries = lines(path)
    entries[9]["unit"] = "ecology"  # someone shifts the blame
    write(path, entries)
    [finding] = verify(read_export(path), head=head)
    assert (finding.line, finding.seq) == (10, 10)
    assert "altered" in finding.problem


def test_changing_a_field_and_its_hash_is_caught_at_the_next_entry(
    export: tuple[Path, str],
) -> None:
    from projections.audit import entry_hash

    path, head = export
    entries = lines(path)
    entries[9]["document_number"] = "forged"
    entries[9]["entry_hash"] = entry_hash(str(entries[9]["prev_hash"]), entries[9])
    write(path, entries)
    [finding] = verify(read_export(path), head=head)
    assert finding.seq == 11
    assert "chain was broken" in finding.problem


def test_deleting_one_row_is_caught_where_it_was(export: tuple[Path, str]) -> None:
    path, head = export
    entries = lines(path)
    del entries[20]
    write(path, entries)
    [finding] = verify(read_export(path), head=head)
    assert (finding.line, finding.seq) == (21, 22)
    assert "removed" in finding.problem


def test_swapping_two_rows_is_caught_where_they_were(export: tuple[Path, str]) -> None:
    path, head = export
    entries = lines(path)
    entries[5], entries[6] = entries[6], entries[5]
    write(path, entries)
    [finding] = verify(read_export(path), head=head)
    assert finding.line == 6
    assert "expected entry 6" in finding.problem


def test_cutting_entries_off_the_end_is_caught_with_the_head(export: tuple[Path, str]) -> None:
    path, head = export
    entries = lines(path)
    write(path, entries[:-2])
    assert verify(read_export(path)) == [], "without the head, a shorter chain looks whole"
    [finding] = verify(read_export(path), head=head)
    assert "cut off the end" in finding.problem


def test_a_csv_export_verifies_and_catches_tampering(
    pipeline: Pipeline, views: Database, tmp_path: Path
) -> None:
    campaign(pipeline.scenario)
    pipeline.project(views, AuditProjection())
    path = tmp_path / "audit.csv"
    path.write_text(
        "".join(csv_lines(iter_entries(views, AuditProjection()))), newline="", encoding="utf-8"
    )
    head = str(audit_head(views)["head"])
    assert verify(read_export(path), head=head) == []
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    rows[4][rows[0].index("at")] = "2021-11-02T00:00:00.000000Z"  # backdated
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    [finding] = verify(read_export(path), head=head)
    assert (finding.seq, "altered" in finding.problem) == (4, True)


def test_the_verify_command_reports_and_exits_non_zero(export: tuple[Path, str]) -> None:
    path, head = export
    ok = subprocess.run(
        [sys.executable, "-m", "api.cli", "audit", "verify", str(path), "--head", head],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert "intact" in ok.stdout
    entries = lines(path)
    del entries[3]
    write(path, entries)
    bad = subprocess.run(
        [sys.executable, "-m", "api.cli", "audit", "verify", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1
    assert "line 4, entry 5" in bad.stdout


def test_a_file_that_is_not_an_export_is_reported_not_crashed_on(tmp_path: Path) -> None:
    garbage = tmp_path / "notes.jsonl"
    garbage.write_text('{"seq": 1\n', encoding="utf-8")
    [finding] = verify(read_export(garbage))
    assert (finding.line, "not an audit entry" in finding.problem) == (1, True)
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "audit", "verify", str(garbage)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
