"""Authorization over the API keys (see `api_keys.py`).

A check built by `requires_role(...)` authenticates the caller (401 + `WWW-Authenticate:
Bearer` if the key is missing or unknown), checks the role (403; `admin` may do everything)
and leaves the caller's `Identity` in `scope["auth"]`: handlers read it as `request.auth`
(their request typed `AuthedRequest`). Controllers install the check as their
`before_request` hook, which Litestar runs before it reads the body or resolves anything.

Two things it is not, for the CPU of a flash-drop hold (py-spy; benchmarks/RESULTS.md):
- a guard: Litestar calls every guard with a copy of the route handler, made per request
  (a tenth of a hold's CPU);
- a dependency (`caller`): a handler with two or more dependencies has Litestar resolve them
  in an anyio task group, per request (a quarter of a hold's CPU).

A test sweeps every route of the OpenAPI document for a 401 without a key. `Identity.key_id`
is a stable, non-secret id of the key: scope idempotency keys by it, write `Identity.actor`
into the ledger. `sees` is the object-level rule: what a key made (a reservation's `owner`)
belongs to that key, and admin sees all.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Protocol

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from reservoir.lib import metrics
from reservoir.lib.api_keys import (
    ADMIN,
    ROLES,
    ApiKeyConfigError,
    ApiKeys,
    Identity,
    key_id,
    load_api_keys,
    parse_api_keys,
)

__all__ = [
    "ADMIN",
    "ROLES",
    "SCOPE_KEY",
    "ApiKeyConfigError",
    "ApiKeys",
    "AuthedRequest",
    "Identity",
    "authenticate",
    "bearer_token",
    "key_id",
    "load_api_keys",
    "parse_api_keys",
    "requires_role",
    "sees",
]

SCOPE_KEY = "auth"
_REALM = 'Bearer realm="reservoir"'

_AUTH_FAILURES = metrics.counter(
    "reservoir_auth_failures_total", "Requests refused by authentication", ("reason",)
)
_FAILED_MISSING, _FAILED_MALFORMED, _FAILED_INVALID, _FAILED_ROLE = (
    _AUTH_FAILURES.labels(reason) for reason in ("missing", "malformed", "invalid", "role")
)


# --- the role checks ------------------------------------------------------------------------

# A request that passed a `requires_role` hook: `request.auth` is the caller's Identity.
AuthedRequest = Request[Any, Identity, Any]


def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> Identity:
    """The caller's identity, or 401. Cached in the scope for later guards and handlers."""
    cached = connection.scope.get(SCOPE_KEY)
    if isinstance(cached, Identity):
        return cached
    header = connection.headers.get("authorization")
    if not header:
        _FAILED_MISSING.inc()
        raise NotAuthorizedException(
            detail="Missing API key: send `Authorization: Bearer <key>`.",
            headers={"WWW-Authenticate": _REALM},
        )
    token = bearer_token(header)
    if token is None:
        _FAILED_MALFORMED.inc()
        raise NotAuthorizedException(
            detail="The Authorization header must be `Bearer <key>`.",
            headers={"WWW-Authenticate": f'{_REALM}, error="invalid_request"'},
        )
    keys: ApiKeys = connection.app.state.api_keys
    identity = keys.authenticate(token)
    if identity is None:
        _FAILED_INVALID.inc()
        raise NotAuthorizedException(
            detail="Unknown API key.",
            headers={"WWW-Authenticate": f'{_REALM}, error="invalid_token"'},
        )
    connection.scope[SCOPE_KEY] = identity  # type: ignore[literal-required]
    return identity


def bearer_token(header: str) -> str | None:
    """The key of an `Authorization: Bearer <key>` header; None if it is not of that form."""
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def sees(caller: Identity, owner: str | None) -> bool:
    """Whether `caller` may see and act on what `owner` (an `actor`) made: the key that made
    it, and admin keys. To anyone else it does not exist (404, as for an unknown id)."""
    return caller.role == ADMIN or owner == caller.actor


class RoleCheck(Protocol):
    """A role guard. A protocol, not a Callable alias: assigned to a Controller's
    `before_request`, a Callable would be type-checked as a method (bound to `self`)."""

    def __call__(self, request: Request[Any, Any, Any], /) -> Awaitable[None]: ...


def requires_role(*roles: str) -> RoleCheck:
    """A `before_request` hook letting through callers with one of `roles` (and admin,
    always); it returns None, so the handler runs."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    allowed = frozenset(roles) | {ADMIN}
    wanted = ", ".join(r for r in ROLES if r in allowed)

    # async on purpose: Litestar would run a sync hook in a worker thread, per request
    async def check(request: Request[Any, Any, Any]) -> None:
        identity = authenticate(request)
        if identity.role not in allowed:
            _FAILED_ROLE.inc()
            raise PermissionDeniedException(
                detail=f"Role {identity.role!r} may not do this; it needs one of: {wanted}."
            )

    check.__name__ = f"requires_role({', '.join(sorted(allowed))})"
    return check
