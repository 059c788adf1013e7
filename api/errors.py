"""One place that maps errors to RFC 9457 problem details (application/problem+json).

Every problem has a stable `code`, the `field` and the `rule` broken where there is
one, and its message in Chinese or English after `Accept-Language`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import (
    ConcurrencyConflict,
    DomainError,
    DuplicateListing,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RuleViolation,
)
from domain.validation_zh import message_zh

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://liandong.jiangjin.gov.cn/problems/"


# What each kind of domain refusal means in HTTP.
STATUS_OF: dict[type[DomainError], int] = {
    InvalidInput: 422,
    PermissionDenied: 403,
    NotFound: 404,
    DuplicateListing: 409,
    RuleViolation: 409,
    ConcurrencyConflict: 409,
}


def status_of(error: DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]
    return 422


# Pydantic's messages, for the error kinds a form meets, in Chinese (the field is named
# beside them); the English message stays in `details`.
class Problem(BaseModel):
    """RFC 9457 problem details, with Liandong's extension members."""

    type: str = Field(examples=[f"{TYPE_BASE}permission_denied"])
    title: str = Field(examples=["permission_denied"])
    status: int = Field(examples=[403])
    detail: str = Field(examples=["unit 'forestry' may not post 'revoke_licence'"])
    code: str = Field(description="stable machine-readable code", examples=["permission_denied"])
    rule: str | None = Field(default=None, description="the rule broken (DOMAIN.md section 7)")
    field: str | None = Field(default=None, description="the field at fault")
    instance: str | None = None
    request_id: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


def wants_chinese(request: Request) -> bool:
    return request.headers.get("accept-language", "").lower().startswith("zh")


def problem(
    request: Request,
    status: int,
    code: str,
    detail: str,
    *,
    rule: str | None = None,
    field: str | None = None,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        type=f"{TYPE_BASE}{code}",
        title=code,
        status=status,
        detail=detail,
        code=code,
        rule=rule,
        field=field,
        instance=str(request.url.path),
        request_id=getattr(request.state, "request_id", None),
        details=details or {},
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


class ApiError(Exception):
    """An HTTP-level refusal (authentication, idempotency, size) with its problem."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        detail_zh: str,
        *,
        field: str | None = None,
        rule: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.detail_zh = status, code, detail, detail_zh
        self.field, self.rule, self.headers = field, rule, headers


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        return problem(
            request,
            status_of(exc),
            exc.code,
            exc.message_zh if wants_chinese(request) else exc.message,
            rule=exc.rule,
            field=exc.field,
            details=exc.details,
        )

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return problem(
            request,
            exc.status,
            exc.code,
            exc.detail_zh if wants_chinese(request) else exc.detail,
            rule=exc.rule,
            field=exc.field,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request", "type": "invalid"}
        location = [str(p) for p in first.get("loc", ())]
        where = location[:1] in (["body"], ["path"], ["query"], ["header"])
        field = ".".join(location[1:] if where else location) or None
        malformed = first.get("type") == "json_invalid"
        code = "malformed_json" if malformed else "invalid_input"
        message = str(first.get("msg", "invalid"))
        detail = f"{field}: {message}" if field else message
        if wants_chinese(request):
            detail = (
                "请求体不是合法的 JSON" if malformed else f"字段 {field}：{message_zh(dict(first))}"
            )
        return problem(
            request,
            422,
            code,
            detail,
            field=field,
            rule="request body is JSON" if malformed else f"schema: {first['type']}",
            details={
                "errors": [
                    {
                        "field": ".".join(str(p) for p in e.get("loc", ())),
                        "rule": e.get("type"),
                        "message": e.get("msg"),
                    }
                    for e in errors
                ]
            },
        )

    @app.exception_handler(ValidationError)
    async def invalid_command(request: Request, exc: ValidationError) -> JSONResponse:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        detail = (
            f"字段 {field}：{message_zh(dict(first))}"
            if wants_chinese(request)
            else f"{field}: {first['msg']}"
        )
        return problem(
            request,
            422,
            "invalid_input",
            detail,
            field=field,
            rule=f"schema: {first['type']}",
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            404: "not_found",
            405: "method_not_allowed",
            413: "too_large",
            415: "unsupported_media_type",
        }.get(exc.status_code, "http_error")
        return problem(request, exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        import logging

        from projections.workers import describe, is_transient

        if is_transient(exc):
            # A store is down or full: nothing was recorded, and trying again later may work.
            logging.getLogger("liandong.api").warning("store unavailable: %s", describe(exc))
            return problem(
                request,
                503,
                "store_unavailable",
                "a database or the disk is unavailable (full, or not answering); nothing "
                "was recorded; try again later"
                if not wants_chinese(request)
                else "数据库或磁盘暂不可用（已满或无响应），本次未记录任何内容，请稍后重试",
                rule="stores available",
                headers={"Retry-After": "5"},
            )
        logging.getLogger("liandong.api").exception("unhandled error", exc_info=exc)
        return problem(
            request,
            500,
            "internal_error",
            "an unexpected error; it was logged with this request id",
        )


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": description}
    for status, description in (
        (401, "missing, unknown or revoked API key"),
        (403, "the unit may not post this action, or not in this territory (rule 1)"),
        (404, "no such case, order or record"),
        (409, "conflicts with the case's state or another command (retry after reload)"),
        (413, "request body too large"),
        (422, "a field breaks its rule; nothing was recorded"),
        (503, "a store is unavailable (down or full); nothing was recorded; retry later"),
    )
}
