"""A bare FastAPI endpoint: the baseline the command endpoint is measured against."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Body(BaseModel):
    approval_kind: str
    application_ref: str
    reason: str


@app.post("/bare/{case_id}")
def bare(case_id: str, body: Body) -> dict[str, Any]:
    return {"case_id": case_id, "ok": True}
