"""The one problem+json mapping, through a real Litestar app (in process, no database)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import asyncpg
import msgspec
import pytest
from litestar import Litestar, get, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.testing import TestClient

from reservoir.lib.bodies import StrictBody
from reservoir.lib.errors import PROBLEM_TYPE_BASE, ProblemError
from reservoir.server.exception_handler import problem_exception_handler

PROBLEM = "application/problem+json"


class Line(msgspec.Struct, forbid_unknown_fields=True):
    sku: str
    quantity: int


class Order(msgspec.Struct, forbid_unknown_fields=True):
    lines: list[Line]
    note: str | None = None
    rush: bool = False


raisers: dict[str, Callable[[], Exception]] = {}


@post("/orders", dto=StrictBody[Order], return_dto=None, status_code=201)
async def create_order(data: JSONBody[Order]) -> dict[str, int]:
    return {"lines": len(data.lines)}


@get("/raise/{name:str}")
async def raise_named(name: FromPath[str]) -> None:
    raise raisers[name]()


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Litestar]]:
    app = Litestar(
        [create_order, raise_named],
        exception_handlers={Exception: problem_exception_handler},
        request_max_body_size=1024,
        logging_config=None,
    )
    with TestClient(app) as c:
        yield c


def problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == PROBLEM_TYPE_BASE + slug
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


def test_problem_error_with_extension_members_and_headers(client: TestClient[Litestar]) -> None:
    raisers["p"] = lambda: ProblemError(
        409, "busy", "Busy", "Try later.", headers={"Retry-After": "3"}, field="x", n=1
    )
    r = client.get("/raise/p")
    body = problem(r, 409, "busy")
    assert body == {
        "type": PROBLEM_TYPE_BASE + "busy",
        "title": "Busy",
        "status": 409,
        "detail": "Try later.",
        "field": "x",
        "n": 1,
    }
    assert r.headers["retry-after"] == "3"


def test_problem_error_refuses_to_shadow_standard_members() -> None:
    with pytest.raises(ValueError, match="type"):
        ProblemError(400, "x", "X", type="other")


def test_unexpected_errors_are_500_logged_and_leak_nothing(
    client: TestClient[Litestar], caplog: pytest.LogCaptureFixture
) -> None:
    raisers["boom"] = lambda: RuntimeError("password=hunter2 at /srv/secret.py")
    with caplog.at_level(logging.ERROR, logger="reservoir.errors"):
        r = client.get("/raise/boom")
    body = problem(r, 500, "internal-error")
    assert "hunter2" not in r.text and "secret" not in r.text and "RuntimeError" not in r.text
    assert body["detail"] == "An unexpected error occurred; it has been logged."
    assert any("hunter2" in (rec.exc_text or str(rec.exc_info)) for rec in caplog.records)


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    ],
    ids=["refused", "closed", "starting-up", "full"],
)
def test_a_database_out_of_reach_is_503_with_retry_after(
    client: TestClient[Litestar], error: Exception
) -> None:
    raisers["db"] = lambda: error
    r = client.get("/raise/db")
    body = problem(r, 503, "database-unavailable")
    assert r.headers["retry-after"] == "1"
    assert "5432" not in body["detail"]


@pytest.mark.parametrize(
    "error",
    [asyncpg.InterfaceError("the server expects 2 arguments, 1 was passed"), TimeoutError()],
    ids=["bad-call", "timeout"],
)
def test_errors_that_may_be_bugs_stay_500(client: TestClient[Litestar], error: Exception) -> None:
    raisers["maybe-bug"] = lambda: error
    problem(client.get("/raise/maybe-bug"), 500, "internal-error")


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (b'{"lines": [{"sku": "a", "quantity": "5"}]}', "lines[0].quantity", "Expected `int`"),
        (b'{"lines": [{"sku": "a", "quantity": 5.5}]}', "lines[0].quantity", "Expected `int`"),
        (b'{"lines": [{"sku": 7, "quantity": 5}]}', "lines[0].sku", "Expected `str`"),
        (b'{"lines": [], "rush": 1}', "rush", "Expected `bool`"),
        (b'{"lines": [], "rush": "true"}', "rush", "Expected `bool`"),
        (b'{"lines": [], "foo": 1}', "foo", "unknown field `foo`"),
        (b'{"lines": [{"sku": "a", "quantity": 1, "x": 0}]}', "lines[0].x", "unknown field"),
        (b'{"note": "n"}', "lines", "missing required field `lines`"),
        (b'{"lines": {}}', "lines", "Expected `array`"),
        (b"[]", "body", "Expected `object`"),
        (b"null", "body", "Expected `object`"),
        (b"", "body", "A JSON body is required"),
    ],
)
def test_body_validation_is_400_naming_the_field(
    client: TestClient[Litestar], body: bytes, field: str, message: str
) -> None:
    r = client.post("/orders", content=body, headers={"content-type": "application/json"})
    problem_body = problem(r, 400, "invalid-request")
    assert problem_body["field"] == field
    assert problem_body["errors"][0]["field"] == field
    assert message in problem_body["errors"][0]["message"]


def test_valid_body_passes(client: TestClient[Litestar]) -> None:
    r = client.post("/orders", content=b'{"lines": [{"sku": "a", "quantity": 2}]}')
    assert r.status_code == 201
    assert r.json() == {"lines": 1}


def test_malformed_json_is_400(client: TestClient[Litestar]) -> None:
    body = problem(client.post("/orders", content=b'{"lines": ['), 400, "malformed-json")
    assert body["field"] == "body"
    assert body["detail"].startswith("JSON is malformed")


def test_body_too_large_is_413(client: TestClient[Litestar]) -> None:
    big = b'{"lines": [], "note": "' + b"x" * 2000 + b'"}'
    body = problem(client.post("/orders", content=big), 413, "body-too-large")
    assert body["field"] == "body"


def test_unknown_route_is_404_and_wrong_method_405(client: TestClient[Litestar]) -> None:
    problem(client.get("/nowhere"), 404, "not-found")
    problem(client.delete("/orders"), 405, "method-not-allowed")


def test_query_parameter_errors_name_the_parameter() -> None:
    @get("/items")
    async def items(limit: FromQuery[int] = 10) -> dict[str, int]:
        return {"limit": limit}

    app = Litestar(
        [items], exception_handlers={Exception: problem_exception_handler}, logging_config=None
    )
    with TestClient(app) as c:
        body = problem(c.get("/items?limit=ten"), 400, "invalid-request")
    assert body["field"] == "limit"
    assert body["errors"][0]["source"] == "query"


# --- the Rust core's errors, raised by a real engine ------------------------------------------

from reservoir import _core as core  # noqa: E402  (the core is built before tests run)


def engine(**limits: int) -> Any:
    e = core.Engine(core.Limits(**limits)) if limits else core.Engine()
    e.define_sku("sku-1")
    e.define_location("bin-1", True)
    return e


def stocked(**limits: int) -> Any:
    e = engine(**limits)
    e.receive("sku-1", "bin-1", 3, 0)
    return e


def _released() -> Any:
    e = stocked()
    r = e.reserve([("sku-1", 1, None)], 60_000, 0)
    e.release(r.id, 0)
    return e, r.id


CORE_CASES: dict[str, Callable[[], Any]] = {
    "insufficient": lambda: stocked().reserve([("sku-1", 5, None)], 60_000, 0),
    "unknown-sku": lambda: engine().reserve([("nope", 1, None)], 60_000, 0),
    "unknown-location": lambda: engine().receive("sku-1", "nowhere", 1, 0),
    "invalid-input": lambda: engine().receive("sku-1", "bin-1", -5, 0),
    "limit": lambda: stocked(lines_per_reservation_max=1).reserve(
        [("sku-1", 1, None), ("sku-1", 1, None)], 60_000, 0
    ),
    "not-found": lambda: engine().commit("rsv_424242", 0),
    "invalid-state": lambda: (lambda e, rid: e.extend(rid, 1000, 0))(*_released()),
    "backpressure": lambda: (
        [stocked(log_entries_max=2).receive("sku-1", "bin-1", 1, 0)] * 3
        and [
            e.receive("sku-1", "bin-1", 1, 0) for e in [engine(log_entries_max=2)] for _ in range(3)
        ]
    ),
}


def core_error(case: str) -> Exception:
    try:
        CORE_CASES[case]()
    except core.ReservoirError as exc:
        return exc
    raise AssertionError(f"{case}: the engine raised nothing")


def test_insufficient_stock_is_409_with_shortages(client: TestClient[Litestar]) -> None:
    raisers["core"] = lambda: core_error("insufficient")
    body = problem(client.get("/raise/core"), 409, "insufficient-stock")
    assert body["shortages"] == [{"sku": "sku-1", "requested": 5, "available": 3}]


@pytest.mark.parametrize(
    ("case", "status", "slug", "members"),
    [
        ("unknown-sku", 422, "unknown-sku", {"field": "sku", "sku": "nope"}),
        ("unknown-location", 422, "unknown-location", {"field": "location"}),
        ("invalid-input", 422, "invalid-input", {"field": "quantity"}),
        ("limit", 422, "limit-exceeded", {"field": "lines"}),
        ("not-found", 404, "reservation-not-found", {"reservation_id": "rsv_424242"}),
        ("invalid-state", 409, "invalid-state", {"reservation_status": "released"}),
        ("backpressure", 503, "backpressure", {}),
    ],
)
def test_core_errors_map_to_problems(
    client: TestClient[Litestar], case: str, status: int, slug: str, members: dict[str, Any]
) -> None:
    raisers["core"] = lambda: core_error(case)
    r = client.get("/raise/core")
    body = problem(r, status, slug)
    for key, value in members.items():
        assert body[key] == value, body
    if case == "backpressure":
        assert r.headers["retry-after"] == "1"
