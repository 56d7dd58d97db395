"""Access tokens for Volly Signaling, with the Python standard library only.

The layout is LiveKit's (HS256 JWT: iss = API key, sub = identity, nbf, exp, name, metadata, and a
``video`` grant), so tokens from this module, from ``livekit-api`` and from ``volly-signaling token``
are interchangeable.

- ``make_access_token``: a participant's token, to join one room (``roomJoin``).
- ``make_admin_token``: a backend's token for the server API (RoomService over gRPC, Twirp or Connect), with
  the operator grants of docs/api.md "Authentication and grants": ``roomCreate`` (CreateRoom, DeleteRoom),
  ``roomList`` (ListRooms, GetSessionStats), ``roomAdmin`` with ``room`` (the per-room methods). It needs no
  identity (``sub``), and is short-lived by default because it can do more than a join token.

From a shell (prints the token)::

    /usr/bin/python3 sdk/python/volly_token.py join --room demo --identity alice
    /usr/bin/python3 sdk/python/volly_token.py admin --room-create --room-list
    /usr/bin/python3 sdk/python/volly_token.py admin --room-admin --room demo

The key and secret come from --api-key/--api-secret, else LIVEKIT_API_KEY/LIVEKIT_API_SECRET, else the
development defaults below.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import time
from typing import Any, Dict, Optional

DEV_API_KEY = "volly-dev-key"
DEV_API_SECRET = "volly-dev-secret-key-2024"

# Admin tokens live ten minutes unless asked otherwise: a leaked one can create, delete and rewrite rooms.
ADMIN_TTL_SECONDS = 600


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _sign(api_secret: str, claims: Dict[str, Any]) -> str:
    """The compact HS256 JWT of ``claims`` (the server accepts HS256 only)."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = hmac.new(api_secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"


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
    claims: Dict[str, Any] = {
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
    return _sign(api_secret, claims)


def make_admin_token(
    api_key: str,
    api_secret: str,
    *,
    room_create: bool = False,
    room_list: bool = False,
    room_admin: bool = False,
    room: Optional[str] = None,
    identity: Optional[str] = None,
    ttl_seconds: int = ADMIN_TTL_SECONDS,
) -> str:
    """Returns a signed token for the server API (RoomService) with the given operator grants.

    The grants are LiveKit's ``video`` claims: ``room_create`` → ``roomCreate`` (CreateRoom, DeleteRoom),
    ``room_list`` → ``roomList`` (ListRooms; GetSessionStats), ``room_admin`` → ``roomAdmin`` (ListParticipants,
    GetParticipant, RemoveParticipant, UpdateParticipant, UpdateRoomMetadata, SendData; GetSessionStats),
    which the server honours only for ``room``: one token administers one room. No ``roomJoin`` is granted,
    so the token cannot join a room. ``identity`` (``sub``) is optional: the API does not need it, but it
    names the caller in the server's logs. Raises ValueError for a token that could call nothing, or for
    ``room_admin`` without ``room`` (the server would refuse every call with it).
    """
    if not (room_create or room_list or room_admin):
        raise ValueError("give at least one of room_create, room_list, room_admin")
    if room_admin and not room:
        raise ValueError("room_admin needs room: the server grants it for that room only")
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    video: Dict[str, Any] = {}
    if room_create:
        video["roomCreate"] = True
    if room_list:
        video["roomList"] = True
    if room_admin:
        video["roomAdmin"] = True
    if room:
        video["room"] = room
    now = int(time.time())
    claims: Dict[str, Any] = {"iss": api_key, "nbf": now, "exp": now + ttl_seconds, "video": video}
    if identity is not None:
        claims["sub"] = identity
    return _sign(api_secret, claims)


def main(argv: Optional[list] = None) -> int:
    """Prints a token: ``join`` for a participant, ``admin`` for the server API."""
    p = argparse.ArgumentParser(description="Mint a Volly Signaling (LiveKit-layout) access token.")
    p.add_argument("--api-key", default=os.environ.get("LIVEKIT_API_KEY", DEV_API_KEY))
    p.add_argument("--api-secret", default=os.environ.get("LIVEKIT_API_SECRET", DEV_API_SECRET))
    sub = p.add_subparsers(dest="kind", required=True)
    j = sub.add_parser("join", help="a participant's token for one room")
    j.add_argument("--room", required=True)
    j.add_argument("--identity", required=True)
    j.add_argument("--ttl", type=int, default=6 * 3600, help="lifetime in seconds (default 6 hours)")
    a = sub.add_parser("admin", help="a backend's token for RoomService")
    a.add_argument("--room-create", action="store_true", help="grant roomCreate (CreateRoom, DeleteRoom)")
    a.add_argument("--room-list", action="store_true", help="grant roomList (ListRooms)")
    a.add_argument("--room-admin", action="store_true", help="grant roomAdmin for --room")
    a.add_argument("--room", help="the room --room-admin applies to")
    a.add_argument("--identity", help="optional sub, for the server's logs")
    a.add_argument("--ttl", type=int, default=ADMIN_TTL_SECONDS, help=f"lifetime in seconds (default {ADMIN_TTL_SECONDS})")
    args = p.parse_args(argv)
    if args.kind == "join":
        print(make_access_token(args.api_key, args.api_secret, args.identity, args.room, ttl_seconds=args.ttl))
        return 0
    try:
        token = make_admin_token(
            args.api_key, args.api_secret, room_create=args.room_create, room_list=args.room_list,
            room_admin=args.room_admin, room=args.room, identity=args.identity, ttl_seconds=args.ttl,
        )
    except ValueError as e:
        p.error(str(e))
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
