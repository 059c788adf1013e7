"""Ed25519 signatures on what crosses to and from the utilities (DOMAIN.md 8: orders must
be authentic).

The district signs orders with its private key; every utility verifies them with the
district's public key, published with a key id (`kid`) so keys can be rotated. Each
utility signs its receipts with a key of its own, whose public key the district registers,
so no utility can forge an order, or another utility's receipt. Public keys travel as
JWKs (RFC 8037: kty OKP, crv Ed25519).

Development keys are derived from public seeds, so a local setup needs no key files;
they are public by construction, and a production start refuses them
(api/settings.py).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class PublicKey:
    kid: str
    key: Ed25519PublicKey

    @property
    def raw(self) -> bytes:
        return self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def verify(self, data: bytes, signature: str | bytes | None) -> bool:
        if not signature:
            return False
        try:
            text = signature.decode() if isinstance(signature, bytes) else signature
            self.key.verify(_unb64url(text), data)
        except (InvalidSignature, ValueError, UnicodeDecodeError):
            return False
        return True

    def jwk(self) -> dict[str, str]:
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "alg": "EdDSA",
            "use": "sig",
            "kid": self.kid,
            "x": _b64url(self.raw),
        }

    @classmethod
    def from_jwk(cls, jwk: dict[str, Any]) -> PublicKey:
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "kid" not in jwk:
            raise ValueError("a signing key is an Ed25519 JWK (kty OKP, crv Ed25519) with a kid")
        return cls(str(jwk["kid"]), Ed25519PublicKey.from_public_bytes(_unb64url(jwk["x"])))


@dataclass(frozen=True)
class SigningKey:
    kid: str
    key: Ed25519PrivateKey
    development: bool = False

    def sign(self, data: bytes) -> str:
        return _b64url(self.key.sign(data))

    def public(self) -> PublicKey:
        return PublicKey(self.kid, self.key.public_key())

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        """A PEM (PKCS#8) Ed25519 private key; its kid is a thumbprint of its public key."""
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        return cls(thumbprint(key.public_key()), key)

    @classmethod
    def generate(cls) -> SigningKey:
        key = Ed25519PrivateKey.generate()
        return cls(thumbprint(key.public_key()), key)

    def pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def thumbprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def development_key(owner: str) -> SigningKey:
    """The public, well-known development key of `owner` ("district", "power", ...)."""
    seed = hashlib.sha256(f"liandong-development-key/{owner}".encode()).digest()
    return SigningKey(f"dev-{owner}", Ed25519PrivateKey.from_private_bytes(seed), True)


def key_set(keys: list[PublicKey]) -> dict[str, list[dict[str, str]]]:
    """A JWK Set (RFC 7517), as published at /.well-known/liandong-signing-keys.json."""
    return {"keys": [k.jwk() for k in keys]}
