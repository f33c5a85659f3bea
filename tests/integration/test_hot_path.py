"""The hot path (server/hot_path.py) answers `POST /v1/reservations` exactly as the route.

Each answer is compared with the route's own: the same request sent with a chunked body
(no `Content-Length`) is handed to Litestar, so the two paths answer side by side on one
server — status, problem body, media type, `Reservoir-Received-At`, the response counter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
from tests.integration.stock_helpers import stock

SKU, BIN = "HOT-PATH-1", "HOT-PATH-BIN"
ROUTE = "/v1/reservations"


@pytest.fixture(scope="module", autouse=True)
def stocked(server):
    stock(server, SKU, BIN, 3)


@pytest.fixture
def storefront(server) -> Iterator[httpx.Client]:
    with server.client("storefront") as client:
        yield client


def hold(client: httpx.Client, body: dict, *, via_route: bool = False, **headers: str):
    raw = json.dumps(body).encode()
    content = iter([raw]) if via_route else raw  # chunked: no Content-Length, the route's
    return client.post(ROUTE, content=content, headers=headers)


def counted(server, status: int) -> float:
    text = httpx.get(f"{server.base_url}/metrics").text
    pattern = (
        r'^reservoir_http_requests_total\{method="POST",route="/v1/reservations",'
        rf'status="{status}"\}} (\S+)$'
    )
    match = re.search(pattern, text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def without_ids(body: dict) -> dict:
    return {k: v for k, v in body.items() if k not in ("id", "expires_at", "created_at")}


def test_a_hold_answers_as_the_route_does_and_is_counted_under_its_template(server, storefront):
    body = {"lines": [{"sku": SKU, "quantity": 1}], "ttl_seconds": 60, "reference": "cart-1"}
    before = counted(server, 201)
    hot, routed = hold(storefront, body), hold(storefront, body, via_route=True)
    assert (hot.status_code, routed.status_code) == (201, 201)
    assert without_ids(hot.json()) == without_ids(routed.json())
    assert hot.headers["content-type"] == routed.headers["content-type"]
    for answer in (hot, routed):
        assert int(answer.headers["reservoir-received-at"]) > 0
    assert counted(server, 201) == before + 2
    for rid in (hot.json()["id"], routed.json()["id"]):
        assert storefront.post(f"{ROUTE}/{rid}/release").status_code == 200


def test_the_sold_out_409_is_the_routes_problem_byte_for_byte(server, storefront):
    body = {"lines": [{"sku": SKU, "quantity": 1_000}]}
    before = counted(server, 409)
    first, again, routed = (
        hold(storefront, body),
        hold(storefront, body),
        hold(storefront, body, via_route=True),
    )
    assert [r.status_code for r in (first, again, routed)] == [409, 409, 409]
    assert first.content == again.content == routed.content
    assert first.headers["content-type"] == routed.headers["content-type"]
    assert first.json()["shortages"] == [{"sku": SKU, "requested": 1_000, "available": 3}]
    assert "reservoir-received-at" in first.headers
    assert counted(server, 409) == before + 3


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"lines": [{"sku": SKU, "quantity": 1}], "colour": "red"}, 400, "colour"),
        ({"lines": [{"sku": SKU, "quantity": "1"}]}, 400, "lines[0].quantity"),
        ({"lines": [{"sku": SKU, "quantity": 2**63}]}, 422, "lines[0].quantity"),
        ({"lines": [{"sku": "NO-SUCH-SKU", "quantity": 1}]}, 422, "sku"),
        ({"lines": [{"sku": SKU, "quantity": 1}], "ttl_seconds": 0}, 422, "ttl_seconds"),
    ],
)
def test_refusals_are_the_same_on_both_paths(storefront, body, status, field):
    hot, routed = hold(storefront, body), hold(storefront, body, via_route=True)
    assert (hot.status_code, routed.status_code) == (status, status)
    assert hot.json() == routed.json()
    assert hot.json()["field"] == field
    assert hot.headers["content-type"] == "application/problem+json"


def test_callers_it_does_not_take_get_the_routes_401_and_403(server):
    body = {"lines": [{"sku": SKU, "quantity": 1}]}
    with server.client() as anonymous, server.client("warehouse") as warehouse:
        unknown = anonymous.post(ROUTE, json=body, headers={"Authorization": "Bearer nope"})
        missing = anonymous.post(ROUTE, json=body)
        wrong_role = warehouse.post(ROUTE, json=body)
    assert (unknown.status_code, missing.status_code, wrong_role.status_code) == (401, 401, 403)
    assert unknown.headers["www-authenticate"].startswith("Bearer")
    assert wrong_role.json()["type"].endswith("forbidden")


def test_an_idempotency_key_replays_on_either_path(storefront):
    body = {"lines": [{"sku": SKU, "quantity": 1}]}
    first = hold(storefront, body, **{"Idempotency-Key": "hot-path-key-1"})
    replayed = hold(storefront, body, via_route=True, **{"Idempotency-Key": "hot-path-key-1"})
    assert (first.status_code, replayed.status_code) == (201, 201)
    assert replayed.json() == first.json()
    assert replayed.headers["idempotent-replayed"] == "true"
    assert storefront.post(f"{ROUTE}/{first.json()['id']}/release").status_code == 200


def availability_labels(server) -> dict[str, float]:
    text = httpx.get(f"{server.base_url}/metrics").text
    pattern = (
        r'^reservoir_http_requests_total\{method="GET",route="(/v1/availability[^"]*)",'
        r'status="(\d+)"\} (\S+)$'
    )
    return {
        f"{route} {status}": float(n)
        for route, status, n in re.findall(pattern, text, re.MULTILINE)
    }


def test_availability_reads_answer_as_the_route_does(server, storefront):
    path = f"/v1/availability/{SKU}"
    hot, routed = storefront.get(path), storefront.get(path, params={"via": "route"})
    assert (hot.status_code, routed.status_code) == (200, 200)
    assert hot.content == routed.content
    assert hot.headers["content-type"] == routed.headers["content-type"]
    assert "reservoir-received-at" in hot.headers
    missing = storefront.get("/v1/availability/NO-SUCH-SKU")
    missing_routed = storefront.get("/v1/availability/NO-SUCH-SKU", params={"via": "route"})
    assert (missing.status_code, missing.content) == (404, missing_routed.content)
    with server.client("warehouse") as warehouse, server.client() as anonymous:
        assert warehouse.get(path).content == hot.content
        assert anonymous.get(path).status_code == 401
    # one route label for both paths: the hot path counts under the route's own template
    assert {label.split()[0] for label in availability_labels(server)} == {"/v1/availability/{sku}"}


def change(client: httpx.Client, rid: str, name: str, body: bytes, *, via_route: bool = False):
    content = iter([body]) if via_route else body
    return client.post(f"{ROUTE}/{rid}/{name}", content=content)


def routes_counted(server, name: str) -> set[str]:
    text = httpx.get(f"{server.base_url}/metrics").text
    return set(re.findall(rf'route="(/v1/reservations/[^"]*/{name})"', text))


@pytest.mark.parametrize(
    ("name", "body", "status"),
    [
        ("commit", b'{"reference": "order-1"}', "committed"),
        ("commit", b"", "committed"),
        ("extend", b'{"ttl_seconds": 120}', "held"),
        ("release", b"", "released"),
    ],
)
def test_changes_answer_as_the_routes_do(server, storefront, name, body, status):
    one = hold(storefront, {"lines": [{"sku": SKU, "quantity": 1}]}).json()["id"]
    two = hold(storefront, {"lines": [{"sku": SKU, "quantity": 1}]}).json()["id"]
    hot, routed = (
        change(storefront, one, name, body),
        change(storefront, two, name, body, via_route=True),
    )
    assert (hot.status_code, routed.status_code) == (200, 200)
    assert hot.json()["status"] == routed.json()["status"] == status
    assert without_ids(hot.json()) == without_ids(routed.json())
    assert "reservoir-received-at" in hot.headers
    assert routes_counted(server, name) == {f"/v1/reservations/{{reservation_id}}/{name}"}
    for rid in (one, two):
        storefront.post(f"{ROUTE}/{rid}/release")


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("commit", b'{"reference": 5}'),
        ("commit", b"{not json"),
        ("extend", b"{}"),
        ("extend", b'{"ttl_seconds": 0}'),
        ("release", b'{"why": "x"}'),
    ],
)
def test_refused_changes_are_the_same_on_both_paths(storefront, name, body):
    rid = hold(storefront, {"lines": [{"sku": SKU, "quantity": 1}]}).json()["id"]
    hot = change(storefront, rid, name, body)
    routed = change(storefront, rid, name, body, via_route=True)
    assert hot.status_code in (400, 422)
    assert (hot.status_code, hot.content) == (routed.status_code, routed.content)
    assert storefront.get(f"{ROUTE}/{rid}").json()["status"] == "held"  # nothing changed
    storefront.post(f"{ROUTE}/{rid}/release")


def test_an_unknown_reservation_is_the_same_404_on_both_paths(storefront):
    # another key's reservation answers this same 404: test_ownership.py, whose commits,
    # releases and extends (with a Content-Length) now take the hot path
    for name in ("commit", "release", "extend"):
        body = b'{"ttl_seconds": 60}' if name == "extend" else b""
        hot = change(storefront, "rsv_ffffff", name, body)
        routed = change(storefront, "rsv_ffffff", name, body, via_route=True)
        assert (hot.status_code, hot.content) == (404, routed.content)
