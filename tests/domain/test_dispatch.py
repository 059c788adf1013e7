"""Commands name their handlers by reference (domain/handlers.py), and a command's fields
are exactly what its handler takes: a renamed parameter or a new field cannot slip by."""

from __future__ import annotations

import inspect

import pytest

from domain import commands as c
from domain.case import Case
from domain.case_memory import CaseMemory
from domain.handlers import CONTEXT_PARAMETERS, HANDLERS

CASE_AND_ORDER_COMMANDS = [*c.CASE_COMMANDS, *c.ORDER_COMMANDS]


def test_every_command_on_a_case_has_a_handler_and_nothing_else_does() -> None:
    assert set(HANDLERS) == set(CASE_AND_ORDER_COMMANDS)


@pytest.mark.parametrize("command", CASE_AND_ORDER_COMMANDS, ids=lambda k: k.__name__)
def test_a_commands_fields_are_its_handlers_keyword_parameters(
    command: type[c.CaseCommand],
) -> None:
    handler = HANDLERS[command]
    parameters = inspect.signature(handler).parameters
    keyword = {n for n, p in parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    positional = [n for n, p in parameters.items() if p.kind is not p.KEYWORD_ONLY]
    assert positional == ["self", "actor", "now"], handler
    fields = set(command.model_fields) - {"case_id"}
    assert fields == keyword - CONTEXT_PARAMETERS, (
        f"{command.__name__} carries {sorted(fields)}; {handler.__qualname__} takes "
        f"{sorted(keyword - CONTEXT_PARAMETERS)}"
    )


def test_every_slug_is_written_out_and_unique() -> None:
    slugs = [k.slug for k in c.CASE_COMMANDS]
    assert len(slugs) == len(set(slugs))
    for command in CASE_AND_ORDER_COMMANDS:
        assert "slug" in vars(command), f"{command.__name__} inherits its URL"


def test_the_memory_of_a_case_is_everything_the_case_keeps() -> None:
    """A snapshot and the status view store CaseMemory: a field the case gains and the
    memory lacks would be lost from both."""
    case = object.__new__(Case)
    Case.__init__(case)
    kept = {k for k in vars(case) if not k.startswith("_")}
    assert kept == set(CaseMemory.model_fields)
