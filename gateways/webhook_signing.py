"""Standard Webhooks 1.0 signatures, asymmetric (`v1a`, Ed25519), as a receiver checks them.

The signed content is `{webhook-id}.{webhook-timestamp}.{body}`; `webhook-signature`
holds space-separated `v1a,<base64 signature>` entries (more than one during a key
rotation). Receivers verify with the district's public key, published as `whpk_<base64>`
(and as a JWK) at `/webhooks/public-key`; holding only the public key, a receiver cannot
forge a delivery, as it could with a shared HMAC secret.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateways.signing import PublicKey, SigningKey

PUBLIC_PREFIX = "whpk_"
TOLERANCE_SECONDS = 5 * 60  # a receiver refuses deliveries stamped further off than this


def signed_content(message_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{message_id}.{timestamp}.".encode() + body


def sign_headers(
    key: SigningKey, message_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers of one delivery attempt."""
    stamp = int(time.time()) if timestamp is None else timestamp
    raw = key.key.sign(signed_content(message_id, stamp, body))
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": f"v1a,{base64.b64encode(raw).decode()}",
    }


def public_key_text(key: PublicKey) -> str:
    """The public key in the Standard Webhooks form: whpk_ and the raw key in base64."""
    return PUBLIC_PREFIX + base64.b64encode(key.raw).decode()


def verify(
    public_key: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    tolerance_s: int = TOLERANCE_SECONDS,
) -> bool:
    """What a receiver runs: True when a `v1a` signature of these headers and body
    verifies with `public_key` (whpk_...) and the timestamp is recent."""
    if not public_key.startswith(PUBLIC_PREFIX):
        return False
    try:
        key = Ed25519PublicKey.from_public_bytes(
            base64.b64decode(public_key[len(PUBLIC_PREFIX) :], validate=True)
        )
        message_id = headers["webhook-id"]
        stamp = int(headers["webhook-timestamp"])
        signatures = headers["webhook-signature"].split()
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - stamp) > tolerance_s:
        return False
    content = signed_content(message_id, stamp, body)
    for entry in signatures:
        version, _, signature = entry.partition(",")
        if version != "v1a":
            continue
        try:
            key.verify(base64.b64decode(signature, validate=True), content)
        except (InvalidSignature, ValueError):
            continue
        return True
    return False
