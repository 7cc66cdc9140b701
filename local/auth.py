"""Dev-signed JWTs, verified the way API Gateway's JWT authorizer verifies them.

An RS256 key pair is generated once into ``.local/jwt/``. ``issue()`` signs a token with the
costopt scopes; ``verify()`` checks signature (key id), issuer, audience, exp and nbf, and turns
the claims into the ``requestContext.authorizer.jwt`` block the authorizer passes to Lambda.
Both take the instant they work at (``now``, epoch seconds; the wall clock when omitted), so a
test can issue and verify tokens at a fixed time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from local import env
from local.events import ALL_SCOPES

ISSUER = "https://costopt.local"
AUDIENCE = "costopt"
ALGORITHM = "RS256"
LEEWAY_S = 0  # API Gateway allows no clock skew beyond its own


class InvalidToken(Exception):
    """The request is not authenticated (401)."""


@dataclass(frozen=True)
class KeyPair:
    private_pem: bytes
    public_pem: bytes

    @property
    def kid(self) -> str:
        return hashlib.sha256(self.public_pem).hexdigest()[:16]

    def jwks(self) -> dict[str, Any]:
        """The public key as a JWKS document (what an issuer serves at /.well-known/jwks.json)."""
        key = serialization.load_pem_public_key(self.public_pem)
        numbers = key.public_numbers()  # type: ignore[union-attr]

        def b64(n: int) -> str:
            return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).decode().rstrip("=")

        return {"keys": [{"kty": "RSA", "use": "sig", "alg": ALGORITHM, "kid": self.kid,
                          "n": b64(numbers.n), "e": b64(numbers.e)}]}


def default_key_dir() -> Path:
    """Where the dev key pair lives: ``.local/jwt/`` (under COSTOPT_LOCAL_DIR when set)."""
    return env.local_dir() / "jwt"


def load_or_create_keys(key_dir: Path | None = None) -> KeyPair:
    """The key pair in ``key_dir`` (default: ``.local/jwt/``), generated (2048-bit RSA) the first time."""
    key_dir = key_dir or default_key_dir()
    private_path, public_path = key_dir / "private.pem", key_dir / "public.pem"
    if private_path.exists() and public_path.exists():
        return KeyPair(private_path.read_bytes(), public_path.read_bytes())
    key_dir.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    private_path.write_bytes(private_pem)
    private_path.chmod(0o600)
    public_path.write_bytes(public_pem)
    return KeyPair(private_pem, public_pem)


def issue(keys: KeyPair, *, scopes: list[str] | None = None, subject: str = "developer",
          ttl_s: float = 12 * 3600, not_before: float | None = None, issuer: str = ISSUER,
          audience: str = AUDIENCE, extra: dict[str, Any] | None = None, now: float | None = None) -> str:
    """A signed bearer token; all costopt scopes unless ``scopes`` says otherwise."""
    now = time.time() if now is None else now
    claims: dict[str, Any] = {
        "iss": issuer, "aud": audience, "sub": subject, "client_id": subject,
        "scope": " ".join(ALL_SCOPES if scopes is None else scopes),
        "iat": int(now), "nbf": int(now if not_before is None else not_before), "exp": int(now + ttl_s),
        "jti": hashlib.sha256(f"{subject}{now}".encode()).hexdigest()[:16],
    }
    claims.update(extra or {})
    return jwt.encode(claims, keys.private_pem, algorithm=ALGORITHM, headers={"kid": keys.kid})


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization`` header (the authorizer's identity source)."""
    if not authorization:
        raise InvalidToken("no Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise InvalidToken("the Authorization header is not 'Bearer <token>'")
    return token


def verify(keys: KeyPair, token: str, *, issuer: str = ISSUER, audience: str = AUDIENCE,
           now: float | None = None) -> dict[str, Any]:
    """Verified claims of ``token`` at ``now`` (epoch seconds, default the wall clock) or InvalidToken:
    kid, RS256 signature, iss, aud, then exp and nbf against ``now`` (not PyJWT's own clock)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"malformed token: {exc}") from None
    if header.get("alg") != ALGORITHM:
        raise InvalidToken("the token is not signed with RS256")
    if header.get("kid") != keys.kid:
        raise InvalidToken("the token's kid is not one of the issuer's keys")
    options: dict[str, Any] = {"require": ["exp", "iss"], "verify_iat": False, "verify_exp": False,
                               "verify_nbf": False}
    try:
        claims: dict[str, Any] = jwt.decode(
            token, keys.public_pem, algorithms=[ALGORITHM], issuer=issuer, audience=audience, options=options,
        )
    except jwt.InvalidAudienceError:
        # API Gateway also accepts a token whose client_id (not aud) is an accepted audience
        claims = jwt.decode(token, keys.public_pem, algorithms=[ALGORITHM], issuer=issuer,
                            options={**options, "verify_aud": False})
        if claims.get("client_id") != audience:
            raise InvalidToken("the token's audience is not accepted") from None
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from None
    at = time.time() if now is None else now
    exp, nbf = claims["exp"], claims.get("nbf", at)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (exp, nbf)):
        raise InvalidToken("exp and nbf must be numbers")
    if exp <= at - LEEWAY_S:
        raise InvalidToken("the token has expired")
    if nbf > at + LEEWAY_S:
        raise InvalidToken("the token is not valid yet")
    return claims


def token_scopes(claims: dict[str, Any]) -> list[str]:
    raw = claims.get("scope", claims.get("scp", ""))
    if isinstance(raw, list):
        return [str(s) for s in raw]
    return [s for s in str(raw).split() if s]


def _claim_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + " ".join(str(v) for v in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def authorizer_context(claims: dict[str, Any]) -> dict[str, Any]:
    """``requestContext.authorizer`` as API Gateway builds it (claim values become strings)."""
    return {"jwt": {"claims": {k: _claim_str(v) for k, v in claims.items()}, "scopes": token_scopes(claims)}}


def has_any_scope(claims: dict[str, Any], required: list[str]) -> bool:
    """API Gateway's rule: the token needs at least one of the route's authorization scopes."""
    return not required or bool(set(required) & set(token_scopes(claims)))
