"""Webhooks (issue 14) with real HTTP receivers started here: one that answers, one that fails
the first times, one that times out, one that answers 410. Signatures are checked with the
Standard Webhooks reference algorithm (tests/unit/test_webhook_signing.py); retries follow a
short schedule; a dead message is replayed; a secret rotation signs with both secrets; a
`kill -9` mid-delivery loses nothing and repeats at most the message in flight, with the same
`webhook-id`."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from tests.integration.stock_helpers import stock
from tests.unit.test_webhook_signing import reference_verify

SKU, BIN = "HOOK-SKU", "HOOK-BIN"
SETTLE_S = 30.0


class Receivers:
    """An HTTP server whose paths behave differently; every request is kept."""

    def __init__(self) -> None:
        self.requests: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
        self.fail_first = 2
        self.release = threading.Event()
        receivers = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                path = self.path
                seen = receivers.requests[path]
                seen.append(
                    {"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                )
                if path == "/slow":
                    time.sleep(2.5)
                elif path == "/hold":
                    receivers.release.wait(20)
                status = 204
                if path == "/flaky" and len(seen) <= receivers.fail_first:
                    status = 503
                elif path == "/gone":
                    status = 410
                self.send_response(status)
                if status == 503:
                    self.send_header("Retry-After", "0")
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()


@pytest.fixture(scope="module")
def receivers() -> Iterator[Receivers]:
    r = Receivers()
    yield r
    r.close()


@pytest.fixture(scope="module")
def hooks(start_server, database_factory):
    env = {"RESERVOIR_WEBHOOK_RETRY_SCHEDULE": "1,2", "RESERVOIR_WEBHOOK_TIMEOUT_SECONDS": "1"}
    server = start_server(database_factory(), env=env)
    stock(server, SKU, BIN, 0)
    yield server
    server.stop()


def subscribe(admin, url: str, events: list[str]) -> dict[str, Any]:
    made = admin.post("/v1/webhooks", json={"url": url, "events": events})
    assert made.status_code == 201, made.text
    return made.json()


def wait_for(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + SETTLE_S
    while not check():
        assert time.monotonic() < deadline, f"not within {SETTLE_S}s: {what}"
        time.sleep(0.1)


def bodies(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [json.loads(r["body"]) for r in requests]


def test_events_arrive_signed_in_order_and_failures_are_retried(hooks, receivers):
    with (
        hooks.client("admin") as admin,
        hooks.client("warehouse") as dock,
        hooks.client("storefront") as shop,
    ):
        ok = subscribe(
            admin, receivers.url("/ok"), ["stock.changed", "reservation.held", "webhook.disabled"]
        )
        assert ok["secret"].startswith("whsec_")
        assert "secret" not in admin.get(f"/v1/webhooks/{ok['id']}").json(), "shown once"
        flaky = subscribe(admin, receivers.url("/flaky"), ["stock.changed"])
        slow = subscribe(admin, receivers.url("/slow"), ["stock.changed"])
        gone = subscribe(admin, receivers.url("/gone"), ["stock.changed"])
        time.sleep(0.5)  # the fan-out's cursor is past what came before
        for _ in range(3):
            assert (
                dock.post(
                    "/v1/stock/receipts", json={"sku": SKU, "location": BIN, "quantity": 5}
                ).status_code
                == 201
            )
        held = shop.post("/v1/reservations", json={"lines": [{"sku": SKU, "quantity": 2}]})
        assert held.status_code == 201

        def types() -> list[str]:
            return [e["type"] for e in bodies(receivers.requests["/ok"])]

        wait_for(
            "4 stock.changed and 1 held at /ok",
            lambda: types().count("stock.changed") >= 4 and "reservation.held" in types(),
        )
        got = receivers.requests["/ok"]
        for request in got:
            assert reference_verify(ok["secret"], request["headers"], request["body"])
        events = bodies(got)
        changed = [e["data"] for e in events if e["type"] == "stock.changed"]
        assert [c["on_hand"] for c in changed] == [5, 10, 15, 15], "in ledger order, levels after"
        assert [c["lsn"] for c in changed] == sorted(c["lsn"] for c in changed)
        assert changed[-1]["reserved"] == 2
        held_event = next((e for e in events if e["type"] == "reservation.held"), None)
        assert held_event is not None, [e["type"] for e in events]
        assert held_event["data"]["reservation_id"] == held.json()["id"]

        # the flaky receiver got each message until it answered 2xx, same id each time
        wait_for("/flaky delivered", lambda: len(receivers.requests["/flaky"]) >= 6)
        first_id = receivers.requests["/flaky"][0]["headers"]["webhook-id"]
        assert [r["headers"]["webhook-id"] for r in receivers.requests["/flaky"][:3]] == [
            first_id
        ] * 3
        log = admin.get(f"/v1/webhooks/{flaky['id']}/deliveries").json()
        tries = [
            (a["attempt"], a["status_code"]) for a in log["attempts"] if a["message"] == first_id
        ]
        assert sorted(tries) == [(1, 503), (2, 503), (3, 204)]

        # 410: the endpoint is disabled at once, and the others hear of it
        wait_for(
            "/gone disabled", lambda: not admin.get(f"/v1/webhooks/{gone['id']}").json()["enabled"]
        )
        assert "410" in admin.get(f"/v1/webhooks/{gone['id']}").json()["disabled_reason"]
        assert len(receivers.requests["/gone"]) == 1
        wait_for(
            "webhook.disabled at /ok",
            lambda: any(e["type"] == "webhook.disabled" for e in bodies(receivers.requests["/ok"])),
        )

        # the slow receiver times out every time: after the schedule, dead letters
        def dead() -> list[dict[str, Any]]:
            return admin.get(
                f"/v1/webhooks/{slow['id']}/deliveries", params={"status": "dead"}
            ).json()["messages"]

        wait_for("a dead letter at /slow", lambda: len(dead()) >= 1)
        letter = dead()[0]
        assert letter["attempts"] == 3
        attempts = admin.get(f"/v1/webhooks/{slow['id']}/deliveries").json()["attempts"]
        assert any("Timeout" in (a.get("error") or "") for a in attempts)
        # replay it: sent again with the same id
        before = len(receivers.requests["/slow"])
        replayed = admin.post(f"/v1/webhooks/{slow['id']}/replay", json={"message": letter["id"]})
        assert replayed.json() == {"replayed": 1}
        wait_for("the replay reaches /slow", lambda: len(receivers.requests["/slow"]) > before)
        assert receivers.requests["/slow"][before]["headers"]["webhook-id"] == letter["id"]
        admin.patch(f"/v1/webhooks/{slow['id']}", json={"enabled": False})

        # a rotation: the next message carries both signatures for the grace period
        rotated = admin.post(f"/v1/webhooks/{ok['id']}/rotate").json()
        count = len(receivers.requests["/ok"])
        dock.post("/v1/stock/receipts", json={"sku": SKU, "location": BIN, "quantity": 1})
        wait_for("a message after the rotation", lambda: len(receivers.requests["/ok"]) > count)
        after = receivers.requests["/ok"][count]
        assert reference_verify(rotated["secret"], after["headers"], after["body"])
        assert reference_verify(ok["secret"], after["headers"], after["body"])


def test_a_kill_mid_delivery_loses_nothing_and_repeats_the_same_id(hooks, receivers):
    with hooks.client("admin") as admin, hooks.client("warehouse") as dock:
        held = subscribe(admin, receivers.url("/hold"), ["stock.changed"])
        receivers.release.clear()
        time.sleep(0.5)
        for _ in range(3):
            dock.post("/v1/stock/receipts", json={"sku": SKU, "location": BIN, "quantity": 1})
        wait_for("the first message in flight", lambda: len(receivers.requests["/hold"]) >= 1)
    in_flight = receivers.requests["/hold"][0]["headers"]["webhook-id"]
    hooks.restart(kill=True)
    receivers.release.set()
    wait_for(
        "all three delivered after the restart",
        lambda: len({r["headers"]["webhook-id"] for r in receivers.requests["/hold"]}) >= 3,
    )
    ids = [r["headers"]["webhook-id"] for r in receivers.requests["/hold"]]
    assert ids.count(in_flight) in (1, 2), "at least once, repeated at most once"
    assert len(set(ids)) == 3 and len(ids) <= 4
    with hooks.client("admin") as admin:
        log = admin.get(f"/v1/webhooks/{held['id']}/deliveries").json()
        assert all(m["status"] == "delivered" for m in log["messages"])


def test_bad_endpoints_name_the_field_and_change_nothing(hooks):
    with hooks.client("admin") as admin:
        listed = len(admin.get("/v1/webhooks").json()["webhooks"])
        cases = [
            ({"url": "ftp://example.com/h", "events": ["stock.changed"]}, "url"),
            ({"url": "https://example.com/h", "events": ["stock.exploded"]}, "events[0]"),
            ({"url": "https://example.com/h", "events": []}, "events"),
            (
                {"url": "https://example.com/h", "events": ["stock.changed"], "secret": "nope"},
                "secret",
            ),
        ]
        for body, field in cases:
            refused = admin.post("/v1/webhooks", json=body)
            assert refused.status_code == 422, refused.text
            assert refused.json()["field"] == field
        assert len(admin.get("/v1/webhooks").json()["webhooks"]) == listed
        assert admin.get("/v1/webhooks/wh_999").status_code == 404
    with hooks.client("warehouse") as dock:
        assert dock.get("/v1/webhooks").status_code == 403


def test_private_targets_are_refused_when_denied(start_server, database_factory):
    server = start_server(database_factory(), env={"RESERVOIR_WEBHOOK_PRIVATE_TARGETS": "deny"})
    try:
        with server.client("admin") as admin:
            refused = admin.post(
                "/v1/webhooks", json={"url": "http://127.0.0.1:9/h", "events": ["stock.changed"]}
            )
            assert refused.status_code == 422 and refused.json()["field"] == "url"
    finally:
        server.stop()
