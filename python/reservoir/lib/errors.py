"""Problems: the `application/problem+json` answers (RFC 9457) the API gives on purpose.

Raise `ProblemError` for anything the API refuses on purpose. Everything else that escapes a
handler (Litestar's HTTP exceptions, the Rust core's errors, the ledger's plain exceptions,
anything unexpected) is mapped to a problem by the one exception handler at the edge,
`reservoir.server.exception_handler`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Response

PROBLEM_TYPE_BASE = "https://reservoir.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"
_RESERVED = frozenset({"type", "title", "status", "detail"})


class ProblemError(Exception):
    """An answer the API gives on purpose: `type` is PROBLEM_TYPE_BASE + `slug`.

    `extra` becomes extension members of the problem body (e.g. `field="sku"`); `headers`
    are sent with it (e.g. `Retry-After`).
    """

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        clash = _RESERVED.intersection(extra)
        if clash:
            raise ValueError(f"problem extension members may not be named {sorted(clash)}")
        super().__init__(detail or title)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail or title
        self.headers = dict(headers or {})
        self.extra = extra

    @property
    def type(self) -> str:
        return PROBLEM_TYPE_BASE + self.slug

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        body.update(self.extra)
        return body

    def __repr__(self) -> str:
        return f"ProblemError({self.status}, {self.slug!r}, {self.detail!r})"


def invalid_input(field: str, detail: str, *, status: int = 422) -> ProblemError:
    """A value that decoded fine but breaks a rule (422), or a bad query parameter (400)."""
    if status == 400:
        return ProblemError(
            400,
            "invalid-request",
            "Invalid request",
            detail,
            field=field,
            errors=[{"field": field, "message": detail}],
        )
    return ProblemError(status, "invalid-input", "Invalid input", detail, field=field)


def problem_response(problem: ProblemError) -> Response[bytes]:
    return Response(
        content=msgspec.json.encode(problem.to_body()),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=problem.headers or None,
    )


def backpressure() -> ProblemError:
    """503: the engine's log is full (the ledger writer is behind); nothing was changed."""
    return ProblemError(
        503,
        "backpressure",
        "Service busy",
        "The ledger writer is behind; retry shortly.",
        headers={"Retry-After": "1"},
    )


def unknown_sku(sku: str, field: str = "sku", *, status: int = 422) -> ProblemError:
    """A SKU that is not in the catalogue: 422 when a write names it (`field`), 404 for a
    read of it."""
    return ProblemError(
        status,
        "unknown-sku",
        "Unknown SKU",
        f"SKU {sku!r} is not in the catalogue.",
        field=field,
        sku=sku,
    )


def unknown_location(code: str, field: str = "location", *, status: int = 422) -> ProblemError:
    """A location that is not defined, as `unknown_sku`."""
    return ProblemError(
        status,
        "unknown-location",
        "Unknown location",
        f"Location {code!r} is not defined.",
        field=field,
        location=code,
    )
