"""Commands by the names people know them: which command completes a task (by the
action it waits on), and a task's duty as the workbench words it."""

from __future__ import annotations

from api.web.i18n import Lang, command_title
from domain import commands as c
from domain.actions import Action
from domain.linkage import INCIDENT_OPENED_BY, INCIDENT_RULES
from domain.units import ORDER_REQUEST_ACTION


def actions_of(command: type[c.Command]) -> set[Action]:
    """Every action a command may be recorded as (some depend on a field's value)."""
    if command is c.RequestUtilityOrder:
        return set(ORDER_REQUEST_ACTION.values())
    if command is c.RecordIncident:
        return set(INCIDENT_OPENED_BY.values())
    if command is c.CloseIncident:
        return {r.closed_by or command.action for r in INCIDENT_RULES.values()}
    return {command.action}


# The command that completes a task, by the action the task waits on.
SLUG_OF_ACTION: dict[str, str] = {
    **{a.value: k.slug for k in c.ORDER_COMMANDS for a in actions_of(k)},
    **{a.value: k.slug for k in c.CASE_COMMANDS for a in actions_of(k)},
}


def duty_words(completes_on: str, duty: str, lang: Lang) -> tuple[str, str]:
    """A task's duty as shown: in Chinese the title of the command that completes it,
    with the recorded duty (its specifics) beside it; in English the duty as recorded."""
    slug = SLUG_OF_ACTION.get(str(completes_on))
    if lang == "en" or slug is None:
        return duty, ""
    return command_title(slug, lang), duty
