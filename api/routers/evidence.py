"""Evidence files: upload (POST /evidence), then cite by hash in any command.

A file is kept under the SHA-256 of its bytes (gateways/evidence_store.py). Its kind is
read from the bytes, never from the name or the client's Content-Type. Reading a file is
scoped like the cases that cite it: the departments and the district office read every
file; a town or platform reads what it uploaded and what the cases of its territory
cite; a utility reads what it uploaded. Any other file answers 404, exactly as a file
that does not exist.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path as FilePath
from typing import IO, Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile as StarletteUpload
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect

from api.deps import ActorDep, ServicesDep
from api.errors import PROBLEM_JSON, PROBLEM_RESPONSES, ApiError, Problem
from api.scope import ReadScope, ScopeDep
from domain.errors import NotFound
from domain.values import HELD_HERE, Actor, Evidence
from gateways.evidence_kinds import ACCEPTED, NotEvidence, sniff, thumbnail
from gateways.evidence_store import StoredFile, Upload, write_stream
from projections.audit import cases_citing

router = APIRouter(tags=["evidence"], responses=PROBLEM_RESPONSES)

Sha256 = Annotated[
    str, Path(pattern="^[0-9a-f]{64}$", description="SHA-256 of the file, 64 lowercase hex")
]
# Shown in the browser (images and PDF, in a sandbox); everything else is downloaded.
SHOWN_INLINE = ("image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf")
SUFFIXES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/tiff": ".tif",
    "image/bmp": ".bmp",
    "image/heic": ".heic",
    "application/pdf": ".pdf",
    "application/msword": ".doc",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.ms-powerpoint": ".ppt",
}


class EvidenceReceipt(BaseModel):
    sha256: str = Field(description="the file's key: cite it in a command's `evidence`")
    size: int
    media_type: str = Field(description="what the bytes are (sniffed, not as declared)")
    evidence: Evidence = Field(description="ready to put in a command's `evidence` list")
    thumbnail: str | None = Field(description="URL of a small JPEG, for images")
    already_held: bool = Field(description="the same bytes had been uploaded before")


class EvidenceAbout(BaseModel):
    sha256: str
    size: int
    media_type: str
    uploaded_by: list[Upload] = Field(description="the units that uploaded these bytes")
    cited_by: list[UUID] = Field(description="cases whose trail cites it (that you may see)")
    thumbnail: str | None


def _refuse_upload(status: int, code: str, detail: str, detail_zh: str, rule: str) -> ApiError:
    return ApiError(status, code, detail, detail_zh, field="file", rule=rule)


@router.post(
    "/evidence",
    status_code=201,
    response_model=EvidenceReceipt,
    summary="Upload a piece of evidence (a photo, a scanned notice, a document)",
    responses={
        status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": description}
        for status, description in (
            (400, "not a whole multipart form"),
            (415, f"the file's bytes are none of {ACCEPTED}"),
            (507, "the evidence store is full; nothing was kept"),
        )
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {
                                "type": "string",
                                "format": "binary",
                                "description": f"the file: {ACCEPTED}",
                            }
                        },
                    }
                }
            },
        }
    },
)
async def upload(request: Request, actor: ActorDep, services: ServicesDep) -> EvidenceReceipt:
    # The body is read only after the caller is authenticated (a client without a key
    # gets its 401 before a byte of its file is stored anywhere).
    try:
        form = await request.form(max_files=1, max_fields=4)
    except (ClientDisconnect, MultiPartException) as broken:
        raise _refuse_upload(
            400,
            "invalid_upload",
            f"the upload is not a whole multipart form with one file: {broken}",
            "上传内容不完整或格式不对（应为含一个文件的 multipart 表单）",
            "POST /evidence takes multipart/form-data with one field `file`",
        ) from broken
    file = form.get("file")
    if not isinstance(file, StarletteUpload):
        raise _refuse_upload(
            422,
            "invalid_input",
            "file: a file is required (multipart field `file`)",
            "缺少文件（multipart 字段 file）",
            "POST /evidence takes multipart/form-data with one field `file`",
        )
    try:
        return await run_in_threadpool(keep, file, actor, services)
    finally:
        await form.close()


def keep(file: StarletteUpload, actor: Actor, services: Any) -> EvidenceReceipt:
    return keep_stream(file.file, file.filename or "", actor, services)


def keep_stream(source: IO[bytes], filename: str, actor: Actor, services: Any) -> EvidenceReceipt:
    """Keeps a file read from `source` (an upload, or the demo's pictures)."""
    try:
        return _store(source, filename, actor, services)
    except OSError as failed:
        if failed.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
            raise
        # Said plainly, and nothing half-kept: every write goes through a temporary
        # file that is removed when it fails.
        raise ApiError(
            507,
            "insufficient_storage",
            f"the evidence store cannot take the file: {failed.strerror}",
            "证据存储空间不足，文件未保存",
            field="file",
            rule="nothing accepted is lost: a file not stored is not accepted",
        ) from failed


def _store(source: IO[bytes], filename: str, actor: Actor, services: Any) -> EvidenceReceipt:
    store, limit = services.evidence, services.settings.evidence_max_bytes
    staged = write_stream(source, store.staging(), limit)
    if staged is None:
        raise _refuse_upload(
            413,
            "too_large",
            f"the file is larger than {limit} bytes",
            f"文件超过 {limit} 字节的上限",
            "evidence size limit (LIANDONG_EVIDENCE_MAX_BYTES)",
        )
    path, sha256, size = staged
    try:
        try:
            media_type = sniff(path, filename)
        except NotEvidence as refused:
            raise _refuse_upload(
                415,
                "unsupported_media_type",
                f"file: {refused}",
                f"文件类型不被接受：应为 {ACCEPTED}",
                f"evidence is {ACCEPTED}",
            ) from refused
        already = store.has(sha256)
        stored = StoredFile(sha256=sha256, size=size, media_type=media_type)
        store.put(path, stored)
        small = thumbnail(path, media_type)
        if small is not None:
            store.put_thumbnail(sha256, small)
    finally:
        path.unlink(missing_ok=True)
    store.record_upload(
        sha256,
        Upload(
            unit=actor.unit,
            person=actor.person,
            filename=label_of(filename),
            at=datetime.now(UTC).isoformat(),
        ),
    )
    return EvidenceReceipt(
        sha256=sha256,
        size=size,
        media_type=media_type,
        evidence=Evidence(sha256=sha256, locator=HELD_HERE, media_type=media_type),
        thumbnail=f"/evidence/{sha256}/thumbnail" if small is not None else None,
        already_held=already,
    )


def label_of(filename: str) -> str:
    """The name a file had on the uploader's machine, kept as a label only: its last path
    part (either slash), printable characters, at most 200."""
    last = FilePath(filename.replace("\\", "/")).name
    return "".join(ch for ch in last if ch.isprintable())[:200]


def visible_cases(services: Any, scope: ReadScope, sha256: str) -> list[UUID]:
    """The cases citing the file that this reader may see."""
    seen = []
    for case_id in cases_citing(services.db, sha256):
        with contextlib.suppress(NotFound):
            case = services.app.get_case(UUID(case_id))
            park = case.destination.park if case.destination else None
            if scope.reach == "all" or (
                scope.reach == "territory" and scope.unit in (case.town, park)
            ):
                seen.append(case.id)
    return seen


def readable(services: Any, scope: ReadScope, sha256: str) -> StoredFile:
    """The file, if this reader may read it; otherwise the 404 of a missing file."""
    about: StoredFile | None = services.evidence.about(sha256)
    if about is not None and (
        scope.reach == "all"
        or any(u.unit == scope.unit for u in services.evidence.uploads(sha256))
        or (scope.reach == "territory" and visible_cases(services, scope, sha256))
    ):
        return about
    raise ApiError(
        404,
        "not_found",
        f"no evidence file {sha256}",
        "没有该证据文件",
        field="sha256",
        rule="evidence is read as the cases citing it are (DOMAIN.md 12)",
    )


@router.get(
    "/evidence/{sha256}",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
    summary="The file itself (its bytes hash to its name)",
)
def download(sha256: Sha256, scope: ScopeDep, services: ServicesDep) -> StreamingResponse:
    about = readable(services, scope, sha256)
    name = f"{sha256}{SUFFIXES.get(about.media_type, '')}"
    disposition = "inline" if about.media_type in SHOWN_INLINE else "attachment"
    chunks: Iterator[bytes] = services.evidence.chunks(sha256)
    return StreamingResponse(
        chunks,
        media_type=about.media_type,
        headers={
            "Content-Length": str(about.size),
            "Content-Disposition": f'{disposition}; filename="{name}"',
            "ETag": f'"{sha256}"',
            # An uploaded file is never a page of this site: no script, no form, no frame.
            "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'; "
            "style-src 'unsafe-inline'",
        },
    )


@router.get(
    "/evidence/{sha256}/thumbnail",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
    summary="A JPEG at most 320 pixels a side (images only)",
)
def small_picture(sha256: Sha256, scope: ScopeDep, services: ServicesDep) -> Response:
    readable(services, scope, sha256)
    jpeg = services.evidence.thumbnail(sha256)
    if jpeg is None:
        raise ApiError(
            404,
            "not_found",
            "this file has no thumbnail (it is not a picture)",
            "该文件没有缩略图（不是图片）",
            field="sha256",
            rule="thumbnails are made of images",
        )
    return Response(jpeg, media_type="image/jpeg", headers={"ETag": f'"{sha256}-320"'})


@router.get(
    "/evidence/{sha256}/about",
    response_model=EvidenceAbout,
    summary="What a file is, who uploaded it and which cases cite it",
)
def about(sha256: Sha256, scope: ScopeDep, services: ServicesDep) -> EvidenceAbout:
    stored = readable(services, scope, sha256)
    uploads = services.evidence.uploads(sha256)
    return EvidenceAbout(
        **stored.model_dump(),
        uploaded_by=uploads
        if scope.reach == "all"
        else [u for u in uploads if u.unit == scope.unit],
        cited_by=[] if scope.reach == "own_orders" else visible_cases(services, scope, sha256),
        thumbnail=(
            f"/evidence/{sha256}/thumbnail" if services.evidence.thumbnail(sha256) else None
        ),
    )
