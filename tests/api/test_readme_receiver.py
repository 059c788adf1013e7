"""The README's receiver example works: it accepts a delivery signed as `liandong notify`
signs it, and refuses a tampered one."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from gateways.signing import development_key
from gateways.webhook_signing import public_key_text, sign_headers


def receiver_app(readme: Path, public_key: str) -> Any:
    text = readme.read_text(encoding="utf-8")
    code = text.split("A receiver, in Python:", 1)[1]
    found = re.search(r"```python\n(.*?)```", code, re.S)
    assert found, "the README shows a receiver"
    namespace: dict[str, Any] = {}
    exec(found.group(1).replace('"whpk_..."', repr(public_key)), namespace)
    return namespace["app"]


def test_the_readme_receiver_accepts_a_signed_delivery_and_refuses_a_forged_one(
    pytestconfig: pytest.Config,
) -> None:
    key = development_key("webhooks")
    readme = pytestconfig.rootpath / "README.md"
    client = TestClient(receiver_app(readme, public_key_text(key.public())))
    body = orjson.dumps({"change": "opened", "item": {"case_id": "c"}})
    headers = {
        **sign_headers(key, "c/2/T1/town:degan/opened", body),
        "ce-type": "cn.gov.jiangjin.liandong.inbox.opened.v1",
        "content-type": "application/json",
    }
    assert client.post("/liandong", content=body, headers=headers).status_code == 200
    assert client.post("/liandong", content=body + b" ", headers=headers).status_code == 401
    forged = sign_headers(development_key("power"), "c/2/T1/town:degan/opened", body)
    assert client.post("/liandong", content=body, headers={**headers, **forged}).status_code == 401
