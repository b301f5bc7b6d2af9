"""The service's signing key: created on first start and kept, published as a JWKS,
used to sign access tokens and verifiable diplomas (RS256, kid = RFC 7638 thumbprint).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwt

ALGORITHM = "RS256"


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class SigningKey:
    """An RSA key pair with its public JWK."""

    def __init__(self, private_pem: bytes) -> None:
        private_key = serialization.load_pem_private_key(private_pem, password=None)
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise ValueError("the signing key must be an RSA private key")
        self.private_pem = private_pem
        numbers = private_key.public_key().public_numbers()
        self._public_jwk = {
            "kty": "RSA",
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
        }
        thumbprint_input = json.dumps(
            {"e": self._public_jwk["e"], "kty": "RSA", "n": self._public_jwk["n"]},
            separators=(",", ":"),
            sort_keys=True,
        ).encode()
        self.kid = (
            base64.urlsafe_b64encode(hashlib.sha256(thumbprint_input).digest()).decode().rstrip("=")
        )
        self.public_pem = private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @classmethod
    def generate(cls) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return cls(pem)

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKey:
        """Load the key at `path`; create it (mode 0600) if absent."""
        if path.exists():
            return cls(path.read_bytes())
        key = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.private_pem)
        return key

    def public_jwk(self) -> dict[str, Any]:
        return {**self._public_jwk, "kid": self.kid, "use": "sig", "alg": ALGORITHM}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk()]}

    def sign(self, claims: dict[str, Any], *, headers: dict[str, Any] | None = None) -> str:
        return jwt.encode(
            claims,
            self.private_pem.decode(),
            algorithm=ALGORITHM,
            headers={"kid": self.kid, **(headers or {})},
        )

    def decode(self, token: str, **options: Any) -> dict[str, Any]:
        """Verify signature and registered claims; the algorithm list is pinned to RS256."""
        claims: dict[str, Any] = jwt.decode(
            token, self.public_pem.decode(), algorithms=[ALGORITHM], **options
        )
        return claims
