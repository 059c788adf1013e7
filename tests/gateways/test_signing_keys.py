"""Orders are signed with the district's Ed25519 key, published with its key id; a
production start with the public development keys refuses to run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.app import create_app
from api.bootstrap import bootstrap
from api.cli import main
from api.settings import Settings
from gateways.signing import PublicKey, SigningKey, development_key


def test_production_refuses_the_public_development_keys() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(environment="production", event_store="memory://")
    assert "LIANDONG_SIGNING_KEY_FILE" in str(refused.value)
    assert "LIANDONG_UTILITY_KEYS_FILE" in str(refused.value)
    assert "LIANDONG_WEBHOOK_SIGNING_KEY_FILE" in str(refused.value)


def test_a_new_key_signs_orders_and_is_published_with_its_kid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "new", "--out", str(tmp_path / "district.pem")]) == 0
    published = json.loads(capsys.readouterr().out)
    assert main(["keys", "new", "--out", str(tmp_path / "district.pem")]) == 2, "no overwrite"
    assert main(["keys", "new", "--out", str(tmp_path / "webhooks.pem")]) == 0
    webhooks = json.loads(capsys.readouterr().out)
    assert (tmp_path / "district.pem").stat().st_mode & 0o077 == 0, "private key kept private"
    power = SigningKey.generate()
    (tmp_path / "utilities.json").write_text(json.dumps({"power": [power.public().jwk()]}))
    retired = development_key("district").public().jwk()
    settings = Settings(
        environment="production",
        event_store="memory://",
        view_store=f"sqlite:///{tmp_path / 'views.sqlite'}",
        signing_key_file=tmp_path / "district.pem",
        utility_keys_file=tmp_path / "utilities.json",
        webhook_signing_key_file=tmp_path / "webhooks.pem",
        retired_signing_keys=[retired],
    )
    key = settings.district_key()
    assert key.kid == published["kid"]
    assert PublicKey.from_jwk(published).verify(b"order", key.sign(b"order"))
    assert not PublicKey.from_jwk(published).verify(b"order!", key.sign(b"order"))
    assert settings.utility_public_keys()["power"][0].kid == power.kid
    with TestClient(create_app(bootstrap(settings))) as client:
        jwks = client.get("/.well-known/liandong-signing-keys.json").json()
        asyncapi = client.get("/asyncapi.json").json()
        webhook_key = client.get("/webhooks/public-key").json()
    assert [k["kid"] for k in jwks["keys"]] == [key.kid, "dev-district"]
    assert jwks["keys"][0] == published
    assert asyncapi["info"]["x-signing-keys"] == jwks
    assert webhook_key["jwk"] == webhooks, "deliveries are signed with their own key"
    assert webhook_key["jwk"]["kid"] != key.kid
