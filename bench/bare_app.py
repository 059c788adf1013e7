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


ITEM = {
    "kind": "task",
    "case_id": "00000000-0000-0000-0000-000000000000",
    "case_name": "德感某家具厂",
    "town": "town:degan",
    "task_id": "T12",
    "duty": "停产整治通知",
    "ref": None,
    "assigned_by": "economy",
    "assigned_at": "2026-11-01T00:00:00.000000Z",
    "deadline": "2026-12-01T00:00:00.000000Z",
    "colour": "green",
    "overdue_seconds": 0,
    "complete_with": {"action": "order_suspension", "method": "POST", "path": "/cases/x/y"},
}


@app.get("/bare/items")
def items(n: int = 50) -> dict[str, Any]:
    """A page of the inbox's size and shape, from memory: the read baseline."""
    return {"unit": "town:degan", "items": [ITEM] * n, "counts": {}, "next_cursor": None}
