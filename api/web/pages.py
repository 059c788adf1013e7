"""The workbench's pages (under /app): sign-in and sign-out, and each unit's inbox,
updated live. Rendered on the server from the same queries and models as the API."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from api.bootstrap import Services
from api.deps import ServicesDep
from api.routers.inbox import item_model
from api.web.i18n import Lang, event_name, value_names, words
from api.web.naming import duty_words
from api.web.sessions import Session
from domain.actions import Action
from domain.units import Unit
from projections.queries import inbox, last_inbox_change

router = APIRouter(prefix="/app", include_in_schema=False)
SESSION_COOKIE = "ld_session"
LOGIN_CSRF_COOKIE = "ld_login_csrf"
LANG_COOKIE = "ld_lang"
DISTRICT_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")
_templates = Environment(
    loader=PackageLoader("api.web", "templates"), autoescape=select_autoescape(["html"])
)


def local_time(value: str | datetime | None) -> str:
    """A moment as the district reads it: Asia/Shanghai, to the minute."""
    if value is None:
        return ""
    moment = (
        datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    )
    return moment.astimezone(DISTRICT_TIME).strftime("%Y-%m-%d %H:%M")


_templates.filters["local"] = local_time


def printable(value: str) -> str:
    """A filter's text with control characters taken out (they match nothing stored)."""
    return "".join(ch for ch in value if ch.isprintable()).strip()


def lang_of(request: Request) -> Lang:
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return "en" if chosen == "en" else "zh"


def session_of(request: Request, services: Services) -> Session | None:
    """The signed-in session of the request, if any is alive."""
    return services.web_sessions.find(request.cookies.get(SESSION_COOKIE))


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def nav_for(services: Services, unit: Unit) -> list[tuple[str, str]]:
    """The pages a unit's people work in: (address, word)."""
    units = services.app.units
    pages = [("/app/", "inbox")]
    if unit.id == "district-office":
        pages.insert(0, ("/app/overview", "overview"))
    if unit.kind == "utility":
        pages.append(("/app/orders", "orders"))
    else:
        pages.append(("/app/ledger", "ledger"))
    if units.permits(unit.id, Action.LIST_ENTERPRISE):
        pages.append(("/app/new/list-enterprise", "new_listing"))
    if units.permits(unit.id, Action.RECORD_PATROL):
        pages.append(("/app/new/record-patrol", "new_patrol"))
    if unit.kind != "utility":
        pages.append(("/app/reports", "reports"))
    pages.append(("/app/evidence", "upload_evidence"))
    if unit.id == "district-office":
        pages.append(("/app/audit", "audit"))
    return pages


def signed_in(
    request: Request, services: Services, *, office: bool = False, utility: bool | None = None
) -> tuple[Session, Unit] | Response:
    """The session and unit of a page's reader, or the answer when there is none: the
    sign-in page, or 403 for a page not meant for the unit (`office`: the district
    office's only; `utility`: True for utilities' only, False for all but theirs)."""
    session = session_of(request, services)
    if session is None or session.unit not in services.app.units:
        return to_sign_in()
    unit = services.app.units.get(session.unit)
    refused = (office and unit.id != "district-office") or (
        utility is not None and (unit.kind == "utility") != utility
    )
    if refused:
        return render(request, "refused.html", 403, session=session, unit=unit)
    return session, unit


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = lang_of(request)
    units = request.app.state.services.app.units

    def unit_name(unit_id: str | None) -> str:
        """A unit as people name it (德感街道, not town:degan)."""
        if not unit_id or unit_id not in units:
            return unit_id or ""
        unit = units.get(unit_id)
        return str(unit.name_zh if lang == "zh" else unit.name_en)

    services = request.app.state.services
    unit = context.get("unit")

    def duty(task: Any) -> tuple[str, str]:
        """(what is asked, its specifics) of a task, a view's task row or an inbox item,
        in the reader's words."""
        if isinstance(task, dict):
            action, text = task.get("completes_on"), task.get("duty")
        elif hasattr(task, "complete_with"):
            action, text = task.complete_with.action, task.duty
        else:
            action, text = task.completes_on, task.duty
        return duty_words(str(action or ""), str(text or ""), lang)

    html = _templates.get_template(template).render(
        request=request,
        t=words(lang),
        v=value_names(lang),
        lang=lang,
        unit_name=unit_name,
        duty=duty,
        event_name=lambda event_type: event_name(event_type, lang),
        nav=nav_for(services, unit) if isinstance(unit, Unit) else [],
        path=request.url.path,
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    if request.query_params.get("lang") in ("zh", "en"):
        response.set_cookie(LANG_COOKIE, lang, samesite="strict", secure=_secure(request))
    # Pages are never cached, framed by another site, or sent to other origins' scripts.
    response.headers["cache-control"] = "no-store"
    response.headers["x-frame-options"] = "DENY"
    response.headers["content-security-policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )
    response.headers["referrer-policy"] = "no-referrer"
    return response


def to_sign_in() -> RedirectResponse:
    return RedirectResponse("/app/login", status_code=303)


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    csrf = secrets.token_urlsafe(32)
    response = render(request, "login.html", csrf=csrf, error=None)
    response.set_cookie(
        LOGIN_CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=_secure(request)
    )
    return response


@router.post("/login")
def login(
    request: Request,
    services: ServicesDep,
    key: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    t = words(lang_of(request))
    if not expected or not secrets.compare_digest(expected, csrf):
        return _login_error(request, t["expired_form"], "csrf", 403)
    address = request.client.host if request.client else "unknown"
    if services.auth_failures.blocked(address, None):
        return _login_error(request, t["bad_key"], "key", 429)
    holder = services.keys.holder_of(key.strip())
    if holder is None or holder.unit not in services.app.units:
        services.auth_failures.record(address, None, "invalid_key", None)
        return _login_error(request, t["bad_key"], "key", 401)
    token, _ = services.web_sessions.open(holder)
    response = RedirectResponse("/app/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/app",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


def _login_error(request: Request, message: str, field: str, status: int) -> HTMLResponse:
    csrf = secrets.token_urlsafe(32)
    response = render(request, "login.html", status, csrf=csrf, error=message, field=field)
    response.set_cookie(
        LOGIN_CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=_secure(request)
    )
    return response


@router.post("/logout")
def logout(
    request: Request, services: ServicesDep, csrf: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    session = session_of(request, services)
    if session is not None:
        if not session.csrf_matches(csrf):
            return Response("CSRF token missing or wrong", status_code=403)
        services.web_sessions.close(request.cookies.get(SESSION_COOKIE, ""))
    response = to_sign_in()
    response.delete_cookie(SESSION_COOKIE, path="/app")
    return response


def _inbox(services: Any, unit: str) -> dict[str, Any]:
    # The change log's position is read first: the page's stream starts from it, so a
    # change made while the page is rendered is heard, not lost in between.
    after = last_inbox_change(services.db)
    items, counts, _ = inbox(services.db, unit, datetime.now(tz=UTC), limit=200)
    return {"items": [item_model(i) for i in items], "counts": counts, "after": after}


@router.get("/")
def inbox_page(request: Request, services: ServicesDep) -> Response:
    session = session_of(request, services)
    if session is None:
        return to_sign_in()
    unit = services.app.units.get(session.unit)
    return render(
        request, "inbox.html", session=session, unit=unit, **_inbox(services, session.unit)
    )


@router.get("/inbox/rows")
def inbox_rows(request: Request, services: ServicesDep) -> Response:
    """The inbox table alone, which the page swaps in when the live stream says so."""
    session = session_of(request, services)
    if session is None:
        return Response(status_code=401)
    return render(request, "inbox_rows.html", **_inbox(services, session.unit))


@router.get("/inbox/stream")
async def inbox_stream(request: Request, services: ServicesDep) -> Response:
    """The inbox's live stream for the page, on the session (an EventSource cannot send
    an Authorization header); the same feed as GET /inbox/stream."""
    from api.routers.inbox_stream import inbox_feed

    session = session_of(request, services)
    if session is None:
        return Response(status_code=401)
    feed = inbox_feed(request, services)
    newest = await feed.newest()
    asked = request.query_params.get("after", "")
    after = min(int(asked), newest) if asked.isdigit() and len(asked) < 19 else newest

    async def stream() -> AsyncIterator[bytes]:
        yield b"retry: 5000\n: connected\n\n"
        async for frame in feed.stream(session.unit, after):
            if await request.is_disconnected():
                return
            yield frame

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"cache-control": "no-store"}
    )
