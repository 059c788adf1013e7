"""docs/domain.md is generated from the code and must not drift from it."""

from __future__ import annotations

from pathlib import Path

from domain.actions import Action
from domain.catalogue import RECORDED_BY, render
from domain.events import all_case_events
from domain.units import default_registry

DOC = Path(__file__).resolve().parents[2] / "docs" / "domain.md"


def test_the_catalogue_matches_the_code() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/domain.md is stale: run `python -m domain.catalogue > docs/domain.md`"
    )


def test_every_event_is_catalogued() -> None:
    assert set(all_case_events()) == set(RECORDED_BY)


def test_every_action_some_unit_may_post_records_a_catalogued_event() -> None:
    recorded = {a for actions in RECORDED_BY.values() for a in actions} | {
        Action.RECORD_PATROL,
        Action.MAINTAIN_CONTROL_AREAS,
        Action.REFUSE_REGISTRATION,
    }
    assert set(Action) == recorded


def test_every_action_is_permitted_to_some_unit() -> None:
    registry = default_registry()
    for action in Action:
        assert any(registry.permits(u.id, action) for u in registry.all()), action
