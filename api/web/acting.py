"""Acting from the workbench: the form of a command (on a case, on an order, or one that
creates: a listing, a patrol) and its post. The command is carried out exactly as the
REST route does it (the same model, the same application call), on behalf of the
signed-in person."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.bootstrap import Services
from api.deps import ServicesDep
from api.errors import status_of
from api.routers.commands import body_of, visible
from api.web.forms import FormField, errors_beside, form_fields, posted_values
from api.web.i18n import command_title, words
from api.web.pages import lang_of, render, session_of, to_sign_in
from api.web.sessions import Session
from domain import commands as c
from domain.case import Case
from domain.errors import DomainError, NotFound
from domain.values import Actor

router = APIRouter(prefix="/app", include_in_schema=False)
CASE_COMMANDS: dict[str, type[c.Command]] = {k.slug: k for k in c.CASE_COMMANDS}
ORDER_COMMANDS: dict[str, type[c.Command]] = {k.slug: k for k in c.ORDER_COMMANDS}
CREATING: dict[str, type[c.Command]] = {
    "list-enterprise": c.ListEnterprise,
    "record-patrol": c.RecordPatrol,
    "refuse-registration": c.RefuseRegistration,
    "define-control-area": c.DefineControlArea,
    "remove-control-area": c.RemoveControlArea,
}


def visible_case(services: Any, unit_id: str, case_id: UUID) -> Case | None:
    """The case, if the unit may see it: a town its territory's, a utility those it
    holds an order on (as the API's read scope decides), the others all."""
    if unit_id not in services.app.units:
        return None
    try:
        case: Case = services.app.get_case(case_id)
    except NotFound:
        return None
    unit = services.app.units.get(unit_id)
    if not services.app.may_see(unit_id, case):
        return None
    if unit.kind == "utility" and not any(o.utility == unit_id for o in case.orders.values()):
        return None
    return case


def _choices(services: Services, session: Session, lang: str) -> dict[str, list[tuple[str, str]]]:
    """Fields offered as lists: a town (a town's own people list in their own territory)."""
    units = services.app.units
    unit = units.get(session.unit)
    towns = [unit.id] if unit.is_territorial else units.territories()
    named = [(w, units.get(w).name_zh if lang == "zh" else units.get(w).name_en) for w in towns]
    return {"town": named, "park": named}


def _fields(
    request: Request, services: Services, command: type[c.Command], skip: str
) -> list[FormField]:
    session = session_of(request, services)
    lang = lang_of(request)
    choices = _choices(services, session, lang) if session else {}
    fields = form_fields(body_of(command, {skip} if skip else set()), lang, choices)
    if session and len(choices.get("town", [])) == 1:  # a town lists in its own territory
        for f in fields:
            f.value = f.value or (choices["town"][0][0] if f.name == "town" else "")
    return fields


def _page(
    request: Request,
    services: Any,
    command: type[c.Command],
    fields: list[FormField],
    *,
    case_id: UUID | None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    session = session_of(request, services)
    lang = lang_of(request)
    slug = getattr(command, "slug", None) or next(k for k, v in CREATING.items() if v is command)
    case_name = None
    came = _came_from(request)
    if case_id is not None:
        case = visible_case(services, session.unit if session else "", case_id)
        if case is None:  # DOMAIN.md 12: a case outside one's reach looks like no case at all
            return Response(status_code=404)
        case_name = case.enterprise.name if case.enterprise else str(case_id)
    return render(
        request,
        "act.html",
        status,
        session=session,
        unit=services.app.units.get(session.unit) if session else None,
        title=command_title(slug, lang),
        case_name=case_name,
        fields=fields,
        action=str(request.url.path) + (f"?from={came}" if came else ""),
        error=error,
        back=_back(request, case_id),
        back_word=words(lang)[{"record": "dossier", "orders": "orders"}.get(came, "inbox")],
    )


def _came_from(request: Request) -> str:
    """Where the form was opened: the record, the orders page, or (by default) the inbox."""
    found = request.query_params.get("from", "")
    return found if found in ("record", "orders") else ""


def _back(request: Request, case_id: UUID | None) -> str:
    came = _came_from(request)
    if came == "record" and case_id:
        return f"/app/enterprises/{case_id}"
    return "/app/orders" if came == "orders" else "/app/"


def _act(  # run in a worker thread: it records, then waits for the view
    request: Request,
    services: Any,
    command: type[c.Command],
    skip: str,
    fixed: dict[str, Any],
    case_id: UUID | None,
    form: dict[str, str],
) -> Response:
    session = session_of(request, services)
    if session is None:
        return to_sign_in()
    if not session.csrf_matches(form.get("csrf")):
        return Response("CSRF token missing or wrong", status_code=403)
    if case_id is not None and visible_case(services, session.unit, case_id) is None:
        return Response(status_code=404)
    fields = _fields(request, services, command, skip)
    values = posted_values(fields, form)
    try:
        cmd = command.model_validate({**fixed, **values})
        recorded = services.app.handle(Actor(unit=session.unit, person=session.person), cmd)
    except (ValidationError, DomainError) as refused:
        general = errors_beside(fields, refused, lang_of(request))
        status = 422 if isinstance(refused, ValidationError) else status_of(refused)
        return _page(
            request, services, command, fields, case_id=case_id, error=general, status=status
        )
    # Read-your-writes: the page shown next reflects what was just done (bounded wait).
    visible(services, cmd, recorded.aggregate_id, recorded.version, timeout_s=2.0)
    if isinstance(cmd, c.ListEnterprise):
        return RedirectResponse(f"/app/enterprises/{recorded.aggregate_id}", status_code=303)
    return RedirectResponse(_back(request, case_id), status_code=303)


def _form(
    request: Request,
    services: Any,
    command: type[c.Command] | None,
    skip: str,
    case_id: UUID | None,
) -> Response:
    """The empty form of a command (`skip`: the field the path gives)."""
    if session_of(request, services) is None:
        return to_sign_in()
    if command is None:
        return Response(status_code=404)
    fields = _fields(request, services, command, skip)
    return _page(request, services, command, fields, case_id=case_id)


async def _posted(request: Request) -> dict[str, str]:
    return {k: str(v) for k, v in (await request.form()).items()}


@router.get("/new/{slug}")
def new_form(slug: str, request: Request, services: ServicesDep) -> Response:
    return _form(request, services, CREATING.get(slug), "", None)


@router.post("/new/{slug}")
async def new_post(slug: str, request: Request, services: ServicesDep) -> Response:
    command = CREATING.get(slug)
    if command is None:
        return Response(status_code=404)
    form = await _posted(request)
    return await run_in_threadpool(_act, request, services, command, "", {}, None, form)


@router.get("/cases/{case_id}/{slug}")
def case_form(case_id: UUID, slug: str, request: Request, services: ServicesDep) -> Response:
    return _form(request, services, CASE_COMMANDS.get(slug), "case_id", case_id)


@router.post("/cases/{case_id}/{slug}")
async def case_post(case_id: UUID, slug: str, request: Request, services: ServicesDep) -> Response:
    command = CASE_COMMANDS.get(slug)
    if command is None:
        return Response(status_code=404)
    form = await _posted(request)
    fixed = {"case_id": case_id}
    return await run_in_threadpool(
        _act, request, services, command, "case_id", fixed, case_id, form
    )


@router.get("/orders/{case_id}/{order_no}/{slug}")
def order_form(
    case_id: UUID, order_no: str, slug: str, request: Request, services: ServicesDep
) -> Response:
    return _form(request, services, ORDER_COMMANDS.get(slug), "order_id", case_id)


@router.post("/orders/{case_id}/{order_no}/{slug}")
async def order_post(
    case_id: UUID, order_no: str, slug: str, request: Request, services: ServicesDep
) -> Response:
    command = ORDER_COMMANDS.get(slug)
    if command is None:
        return Response(status_code=404)
    fixed = {"order_id": f"{case_id}/{order_no}"}
    form = await _posted(request)
    return await run_in_threadpool(
        _act, request, services, command, "order_id", fixed, case_id, form
    )
