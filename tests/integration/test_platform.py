"""The running service as an operator sees it: health, readiness, metrics, OpenAPI, error
shapes, one writer per database, and surviving kill -9. Real `reservoir serve`, real HTTP."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx

from reservoir.ledger.migrate import LATEST_VERSION

PROBLEMS = "https://reservoir.dev/problems/"


async def test_healthz_and_readyz(server: Any) -> None:
    async with server.async_client() as client:
        health = await client.get("/healthz")
        ready = await client.get("/readyz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


async def test_metrics_are_prometheus_text(server: Any) -> None:
    async with server.async_client() as client:
        await client.get("/healthz")
        await client.get("/no/such/route")
        r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = r.text
    assert "# TYPE reservoir_http_requests_total counter" in text
    assert 'reservoir_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert 'reservoir_http_requests_total{method="GET",route="unmatched",status="404"}' in text
    assert "\nreservoir_ready 1\n" in text
    assert "\nreservoir_ledger_lock_held 1\n" in text


async def test_every_api_route_refuses_a_caller_without_a_key(server: Any) -> None:
    """Swept from the OpenAPI document, so a route added without a role check fails here."""
    async with server.async_client() as client:
        spec = (await client.get("/schema/openapi.json")).json()
        checked = []
        for path, methods in spec["paths"].items():
            if not path.startswith("/v1/"):
                continue
            url = re.sub(r"\{[^}]+\}", "X-1", path)
            for method in methods:
                if method.upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                    continue
                r = await client.request(method.upper(), url, json={})
                assert r.status_code == 401, f"{method.upper()} {path}: {r.status_code} {r.text}"
                assert r.headers["www-authenticate"].startswith("Bearer")
                checked.append(f"{method.upper()} {path}")
    assert len(checked) >= 15, checked


async def test_openapi_describes_the_api(server: Any) -> None:
    async with server.async_client() as client:
        r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    assert spec["info"]["title"] == "reservoir"
    for path in ("/v1/items/{sku}", "/v1/locations/{code}", "/v1/ledger", "/healthz", "/readyz"):
        assert path in spec["paths"], path
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    put_item = spec["paths"]["/v1/items/{sku}"]["put"]
    schema_ref = put_item["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert schema_ref.endswith("/ItemIn")


async def test_unknown_routes_and_methods_are_problems(server: Any) -> None:
    async with server.async_client("admin") as client:
        missing = await client.get("/v1/nothing-here")
        wrong_method = await client.delete("/v1/items/x")
    for r, status, slug in [(missing, 404, "not-found"), (wrong_method, 405, "method-not-allowed")]:
        assert r.status_code == status
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"] == PROBLEMS + slug


async def test_the_schema_is_migrated_at_start(server_db: asyncpg.Connection) -> None:
    assert await server_db.fetchval("SELECT max(version) FROM schema_migrations") == LATEST_VERSION


def test_a_second_serve_on_the_same_database_refuses(
    server: Any, run_reservoir: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run_reservoir("serve", "--port", str(port), env=server.env, cwd=server.data_dir)
    assert result.returncode != 0
    assert "reservoir: cannot start: another reservoir process owns this ledger" in result.stderr
    assert "Traceback" not in result.stderr
    with httpx.Client(base_url=server.base_url) as client:
        assert client.get("/readyz").status_code == 200


async def test_kill_9_then_restart(
    start_server: Callable[..., Any], database_factory: Callable[[], str]
) -> None:
    server = start_server(database_factory())
    async with server.async_client("admin") as admin:
        assert (await admin.put("/v1/items/survivor", json={"name": "S"})).status_code == 201
    server.kill()
    server.start()  # the dead process's lock is let go; no "another process owns" refusal
    async with server.async_client("storefront") as storefront:
        r = await storefront.get("/v1/items/survivor")
        assert r.status_code == 200 and r.json()["name"] == "S"
        assert (await storefront.get("/readyz")).status_code == 200
    assert server.stop() in (0, -signal.SIGTERM)  # uvicorn re-raises SIGTERM once shut down
    assert "Application shutdown complete" in server.log()


async def test_openapi_documents_every_status_as_a_problem(server: Any) -> None:
    async with server.async_client() as client:
        spec = (await client.get("/schema/openapi.json")).json()
    problem = "#/components/schemas/Problem"
    props = spec["components"]["schemas"]["Problem"]["properties"]
    for member in ("type", "title", "status", "detail", "field", "errors", "limit_bytes"):
        assert member in props, member

    def statuses(path: str, method: str) -> set[str]:
        operation = spec["paths"][path][method]
        for status, response in operation["responses"].items():
            if status[0] in "45":
                content = response["content"]
                assert list(content) == ["application/problem+json"], (path, status)
                assert content["application/problem+json"]["schema"]["$ref"] == problem
        return set(operation["responses"])

    limits = {"414", "431"}
    assert {"201", "400", "401", "403", "409", "413", "422", "503"} | limits <= statuses(
        "/v1/reservations", "post"
    )
    assert {"200", "401", "403", "404", "503"} | limits <= statuses(
        "/v1/reservations/{reservation_id}", "get"
    )
    assert {"401", "403", "404", "409", "422", "503"} <= statuses(
        "/v1/reservations/{reservation_id}/commit", "post"
    )
    assert {"400", "401", "403", "409", "413", "422", "503"} <= statuses(
        "/v1/stock/transfers", "post"
    )
    assert {"201", "400", "401", "403", "413", "422"} <= statuses("/v1/items/{sku}", "put")
    assert {"401", "403", "404"} <= statuses("/v1/picklists/{pick_list_id}", "get")
    assert {"401", "403", "422"} <= statuses("/v1/ledger", "get")
    assert "503" in statuses("/readyz", "get")

    for path in ("/healthz", "/readyz", "/metrics"):
        assert spec["paths"][path]["get"]["security"] == [], path
    assert spec["security"] == [{"bearer": []}]
    assert "security" not in spec["paths"]["/v1/reservations"]["post"]  # the global bearer
    metrics_ok = spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics_ok) == ["text/plain"]

    schemas = spec["components"]["schemas"]
    for name in ("ReserveIn", "LineIn", "ReceiptIn", "ItemIn", "LocationIn", "Layout", "PickIn"):
        assert schemas[name]["additionalProperties"] is False, name
    line = schemas["LineIn"]["properties"]["quantity"]
    assert (line["minimum"], line["maximum"]) == (1, 4_294_967_295)
