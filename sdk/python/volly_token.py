"""Access tokens for Volly Signaling, with the Python standard library only.

The layout is LiveKit's (HS256 JWT: iss = API key, sub = identity, nbf, exp, name, metadata, and a
``video`` grant), so tokens from this module, from ``livekit-api`` and from ``volly-signaling token``
are interchangeable.
"""

import base64
import hashlib
import hmac
import json
import time
from typing import Optional

DEV_API_KEY = "volly-dev-key"
DEV_API_SECRET = "volly-dev-secret-key-2024"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_access_token(
    api_key: str,
    api_secret: str,
    identity: str,
    room: str,
    ttl_seconds: int = 6 * 3600,
    name: Optional[str] = None,
    metadata: Optional[str] = None,
) -> str:
    """Returns a signed token that joins ``room`` as ``identity`` and may publish, subscribe and send data."""
    now = int(time.time())
    claims = {
        "iss": api_key,
        "sub": identity,
        "nbf": now,
        "exp": now + ttl_seconds,
        "video": {
            "roomJoin": True,
            "room": room,
            "canPublish": True,
            "canSubscribe": True,
            "canPublishData": True,
            "canUpdateOwnMetadata": True,
        },
    }
    if name is not None:
        claims["name"] = name
    if metadata is not None:
        claims["metadata"] = metadata
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = hmac.new(api_secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"
