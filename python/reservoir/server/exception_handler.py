"""The one mapping from exceptions to `application/problem+json` answers (RFC 9457),
registered on the app as its handler for `Exception`.

`ProblemError` (lib/errors.py) is answered as it is. Everything else that escapes a handler
is mapped by `problem_from_exception`: Litestar's own HTTP exceptions (bad JSON, unknown
fields, wrong types, 401/403/404/405/413), the Rust core's errors, the ledger's plain
exceptions (`LedgerUnavailable`), PostgreSQL out of reach, and — for anything unexpected — a
500 that is logged but says nothing about internals.

Validation errors from msgspec decoding are 400 with `field` (the first offending field, as a
path like `lines[0].quantity`) and `errors` (every offending field), except an integer out of
its bounds (`Meta(ge=, le=)` on a body field or a query parameter, see lib/bounds.py): that
is a value breaking a rule, 422 `invalid-input`. Value rules checked after decoding (code
formats, ranges) and the core's `InvalidInput` are 422 with `field`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import asyncpg
from litestar import Request, Response
from litestar.exceptions import ClientException, HTTPException, ValidationException

from reservoir.ledger.writer import LedgerUnavailable
from reservoir.lib.errors import ProblemError, problem_response
from reservoir.server.core_problems import from_core_error

logger = logging.getLogger("reservoir.errors")


# PostgreSQL out of reach on a path that reads or writes it directly (the ledger writer's
# failures answer `ledger-unavailable` on their own): a retry may succeed, so 503, not 500.
# Only errors that say so: a refused or dropped connection, a server starting or full. Not
# asyncpg's InterfaceError in general (it also means a bug in the call) nor any timeout.
DATABASE_UNREACHABLE: tuple[type[BaseException], ...] = (
    ConnectionRefusedError,
    ConnectionResetError,
    asyncpg.PostgresConnectionError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)


def problem_exception_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """The one exception handler, registered on the app for `Exception`."""
    problem = problem_from_exception(exc, request)
    log_problem(problem, exc, request.method, request.url.path)
    return problem_response(problem)


def log_problem(problem: ProblemError, exc: Exception, method: str, path: str) -> None:
    """Logs what an operator must see: PostgreSQL out of reach, and anything unexpected."""
    if problem.status == 503 and isinstance(exc, DATABASE_UNREACHABLE):
        logger.warning("database unreachable on %s %s: %r", method, path, exc)
    elif problem.status == 500 and not isinstance(exc, ProblemError):
        logger.error("unhandled %s on %s %s", type(exc).__name__, method, path, exc_info=exc)


def problem_from_exception(
    exc: Exception, request: Request[Any, Any, Any] | None = None
) -> ProblemError:
    if isinstance(exc, ProblemError):
        return exc
    if isinstance(exc, LedgerUnavailable):
        return _ledger_unavailable(exc)
    if isinstance(exc, ValidationException):
        return _from_validation(exc)
    if isinstance(exc, HTTPException):
        return _from_http(exc, request)
    core = from_core_error(exc)
    if core is not None:
        return core
    if isinstance(exc, DATABASE_UNREACHABLE):
        return ProblemError(
            503,
            "database-unavailable",
            "Database unavailable",
            "PostgreSQL could not be reached; the request may not have been applied. Retry "
            "shortly, with the same Idempotency-Key.",
            headers={"Retry-After": "1"},
        )
    return ProblemError(
        500,
        "internal-error",
        "Internal server error",
        "An unexpected error occurred; it has been logged.",
    )


def _ledger_unavailable(exc: LedgerUnavailable) -> ProblemError:
    return ProblemError(
        503,
        "ledger-unavailable",
        "Ledger unavailable",
        f"{exc.detail}; nothing was acknowledged. Retry shortly.",
        headers={"Retry-After": "1"},
    )


# --- Litestar's HTTP exceptions ---------------------------------------------------------------

_HTTP_SLUGS: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("body-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    429: ("too-many-requests", "Too many requests"),
    503: ("service-unavailable", "Service unavailable"),
}

# msgspec's message for a number outside its `Meta` bounds ("Expected `int` <= 4294967295").
_OUT_OF_RANGE = re.compile(r"Expected `(?:int|float)` [<>]=? -?[0-9.e+]+")
_NAMED_FIELD = re.compile(r"Object (?:contains unknown|missing required) field `([^`]+)`")


def _from_http(exc: HTTPException, request: Request[Any, Any, Any] | None) -> ProblemError:
    status = exc.status_code
    headers = dict(exc.headers or {})
    if status >= 500:
        slug, title = _HTTP_SLUGS.get(status, ("internal-error", "Internal server error"))
        return ProblemError(status, slug, title, headers=headers)
    slug, title = _HTTP_SLUGS.get(status, (f"http-{status}", _phrase(status)))
    detail = exc.detail
    extra: dict[str, Any] = {}
    if (
        status == 400
        and isinstance(exc, ClientException)
        and detail.startswith("JSON is malformed")
    ):
        slug, title = "malformed-json", "Malformed JSON"
        extra = {"field": "body", "errors": [{"field": "body", "message": detail}]}
    elif status == 413:
        limit = _body_limit(request)
        detail = f"The request body exceeds {limit} bytes." if limit else "The body is too large."
        extra = {"field": "body"}
        if limit:
            extra["limit_bytes"] = limit
    elif status == 404 and detail == "Not Found" and request is not None:
        detail = f"No resource at {request.url.path}."
    elif status == 405 and request is not None:
        detail = f"{request.method} is not allowed on {request.url.path}."
    return ProblemError(status, slug, title, detail, headers=headers, **extra)


def _from_validation(exc: ValidationException) -> ProblemError:
    errors = [_field_error(item) for item in (exc.extra if isinstance(exc.extra, list) else [])]
    if not errors:
        errors = [{"field": "body", "message": exc.detail}]
    first = errors[0]
    detail = f"{first['message']} (at `{first['field']}`)"
    if len(errors) > 1:
        detail += f", and {len(errors) - 1} more"
    if all(_OUT_OF_RANGE.fullmatch(e["message"]) for e in errors):
        return ProblemError(
            422, "invalid-input", "Invalid input", detail, field=first["field"], errors=errors
        )
    return ProblemError(
        400,
        "invalid-request",
        "Invalid request",
        detail,
        field=first["field"],
        errors=errors,
    )


def _field_error(item: Any) -> dict[str, str]:
    if not isinstance(item, Mapping):
        return {"field": "body", "message": str(item)}
    message = str(item.get("message", "invalid value"))
    key = item.get("key")
    source = item.get("source")
    at_body_root = source == "body" and key in (None, "data")
    named = _NAMED_FIELD.match(message)
    if named:
        # "Object contains unknown field `foo`" is reported at the enclosing object: name `foo`.
        field = named.group(1) if at_body_root or not key else f"{key}.{named.group(1)}"
    elif at_body_root:
        field = "body"
        if message in ("'data'", "Object missing required field `data`"):
            message = "A JSON body is required"
    else:
        field = str(key) if key else "body"
    error = {"field": field, "message": message}
    if source:
        error["source"] = str(getattr(source, "value", source))
    return error


def _body_limit(request: Request[Any, Any, Any] | None) -> int | None:
    if request is None:
        return None
    settings = getattr(request.app.state, "settings", None)
    return getattr(settings, "body_bytes_max", None)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
