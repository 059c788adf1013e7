"""The workbench speaks the offices' language: every command, event, field and value it
shows has a Chinese name (and an English one), so no page shows a code name instead."""

from __future__ import annotations

from enum import StrEnum

import pytest

from api.routers.commands import body_of
from api.web.acting import CREATING
from api.web.forms import LABELS, form_fields
from api.web.i18n import COMMANDS, EVENTS_ZH, VALUES, WORDS
from domain import commands as c
from domain.events import all_case_events
from domain.values import (
    CaseState,
    Disposition,
    OrderKind,
    OrderStatus,
    ProblemKind,
    SupplyState,
    Utility,
)

EVERY_COMMAND = [*c.CASE_COMMANDS, *c.ORDER_COMMANDS, *CREATING.values()]


def test_every_event_of_a_case_has_a_chinese_name() -> None:
    assert {e.__name__ for e in all_case_events()} == set(EVENTS_ZH)


def test_every_command_has_a_title_in_both_languages() -> None:
    slugs = {getattr(k, "slug", None) for k in EVERY_COMMAND} | set(CREATING)
    assert slugs - {None} <= set(COMMANDS)
    assert all(zh and en and zh != en for zh, en in COMMANDS.values())


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=lambda k: k.__name__)
def test_every_field_of_a_commands_form_has_a_label(command: type[c.Command]) -> None:
    for field in form_fields(body_of(command, {"case_id", "order_id"}), "zh"):
        names = [field.name] + [sub.name.rpartition(".")[2] for row in field.rows for sub in row]
        assert set(names) <= set(LABELS), f"{command.__name__}: {set(names) - set(LABELS)}"


@pytest.mark.parametrize(
    "values",
    [CaseState, Disposition, SupplyState, OrderStatus, OrderKind, Utility, ProblemKind],
    ids=lambda e: e.__name__,
)
def test_every_value_the_pages_show_has_a_name(values: type[StrEnum]) -> None:
    assert {v.value for v in values} <= set(VALUES)


def test_every_word_is_in_both_languages() -> None:
    assert all(zh and en for zh, en in WORDS.values())
