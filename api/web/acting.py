"""Acting from the workbench: the form of a command on a case or an order, and its post.
The command is carried out exactly as the REST route does it (the same model, the same
application call), on behalf of the signed-in person."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.deps import ServicesDep
from api.errors import status_of
from api.routers.commands import body_of
from api.web.forms import FormField, errors_beside, form_fields, posted_values
from api.web.pages import lang_of, render, session_of, to_sign_in
from domain import commands as c
from domain.case import Case
from domain.errors import DomainError, NotFound
from domain.values import Actor

router = APIRouter(prefix="/app", include_in_schema=False)
CASE_COMMANDS: dict[str, type[c.Command]] = {k.slug: k for k in c.CASE_COMMANDS}
ORDER_COMMANDS: dict[str, type[c.Command]] = {k.slug: k for k in c.ORDER_COMMANDS}


def _visible_case(services: Any, unit_id: str, case_id: UUID) -> Case | None:
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


def _page(
    request: Request,
    services: Any,
    command: type[c.Command],
    fields: list[FormField],
    *,
    case_id: UUID,
    action: str,
    error: str | None = None,
    status: int = 200,
) -> Response:
    session = session_of(request, services)
    title = (command.__doc__ or command.__name__).strip().splitlines()[0]
    case = _visible_case(services, session.unit if session else "", case_id)
    if case is None:  # DOMAIN.md 12: a case outside one's reach looks like no case at all
        return Response(status_code=404)
    name = case.enterprise.name if case.enterprise else str(case_id)
    return render(
        request,
        "act.html",
        status,
        session=session,
        unit=services.app.units.get(session.unit) if session else None,
        title=title,
        case_name=name,
        fields=fields,
        action=action,
        error=error,
    )


def _act(
    request: Request,
    services: Any,
    command: type[c.Command],
    skip: set[str],
    fixed: dict[str, Any],
    case_id: UUID,
    form: dict[str, str],
) -> Response:
    session = session_of(request, services)
    if session is None:
        return to_sign_in()
    lang = lang_of(request)
    fields = form_fields(body_of(command, skip), lang)
    if not session.csrf_matches(form.get("csrf")):
        return Response("CSRF token missing or wrong", status_code=403)
    values = posted_values(fields, form)
    try:
        cmd = command.model_validate({**fixed, **values})
        services.app.handle(Actor(unit=session.unit, person=session.person), cmd)
    except (ValidationError, DomainError) as refused:
        general = errors_beside(fields, refused, lang)
        status = 422 if isinstance(refused, ValidationError) else status_of(refused)
        return _page(
            request, services, command, fields, case_id=case_id, action=str(request.url.path),
            error=general, status=status,
        )  # fmt: skip
    return RedirectResponse("/app/", status_code=303)


def _form(
    request: Request, services: Any, command: type[c.Command] | None, skip: str, case_id: UUID
) -> Response:
    """The empty form of a command (`skip`: the field the path gives)."""
    if session_of(request, services) is None:
        return to_sign_in()
    if command is None:
        return Response(status_code=404)
    fields = form_fields(body_of(command, {skip}), lang_of(request))
    return _page(request, services, command, fields, case_id=case_id, action=request.url.path)


@router.get("/cases/{case_id}/{slug}")
def case_form(case_id: UUID, slug: str, request: Request, services: ServicesDep) -> Response:
    return _form(request, services, CASE_COMMANDS.get(slug), "case_id", case_id)


@router.post("/cases/{case_id}/{slug}")
async def case_post(case_id: UUID, slug: str, request: Request, services: ServicesDep) -> Response:
    command = CASE_COMMANDS.get(slug)
    if command is None:
        return Response(status_code=404)
    form = {k: str(v) for k, v in (await request.form()).items()}
    return _act(request, services, command, {"case_id"}, {"case_id": case_id}, case_id, form)


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
    form = {k: str(v) for k, v in (await request.form()).items()}
    fixed = {"order_id": f"{case_id}/{order_no}"}
    return _act(request, services, command, {"order_id"}, fixed, case_id, form)
