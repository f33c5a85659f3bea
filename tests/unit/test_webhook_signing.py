"""Webhook signatures against the Standard Webhooks reference algorithm (written here from
the spec, not from our code), the retry schedule on a fake clock, and the SSRF check."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random

import pytest

from reservoir.lib.webhook_signing import (
    DEFAULT_SCHEDULE,
    is_secret,
    new_secret,
    next_attempt,
    parse_schedule,
    signature_header,
)
from reservoir.lib.webhook_targets import PrivateTarget, check_target, url_problem


def reference_verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The spec: signed content is "{webhook-id}.{webhook-timestamp}.{body}"; the key is the
    base64 part of `whsec_…`; the header lists space-separated `v1,<base64 HMAC-SHA256>`."""
    key = base64.b64decode(secret.split("_", 1)[1])
    content = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body.decode()}"
    expected = base64.b64encode(hmac.new(key, content.encode(), hashlib.sha256).digest())
    for part in headers["webhook-signature"].split(" "):
        version, _, signature = part.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            return True
    return False


def test_a_signature_verifies_with_the_reference_algorithm() -> None:
    secret, old = new_secret(), new_secret()
    body = b'{"type":"stock.changed","data":{"sku":"A"}}'
    headers = {"webhook-id": "msg_1_0_wh_1", "webhook-timestamp": "1765000000"}
    headers["webhook-signature"] = signature_header([secret], "msg_1_0_wh_1", 1765000000, body)
    assert reference_verify(secret, headers, body)
    assert not reference_verify(old, headers, body)
    assert not reference_verify(secret, headers, body + b" ")
    # during a rotation both secrets sign: a receiver holding either verifies
    headers["webhook-signature"] = signature_header([secret, old], "msg_1_0_wh_1", 1765000000, body)
    assert reference_verify(secret, headers, body) and reference_verify(old, headers, body)
    assert is_secret(secret) and not is_secret("whsec_!!") and not is_secret("secret")


def test_retries_follow_the_schedule_on_a_fake_clock() -> None:
    schedule = parse_schedule("5,300,1800")
    first = 1_000.0
    rng = random.Random(7)
    due = [next_attempt(schedule, first, n, now_s=first + 1, rng=rng) for n in (1, 2, 3)]
    for step, at in zip(schedule, due, strict=True):
        assert at is not None and abs(at - (first + step)) <= step * 0.1
    assert next_attempt(schedule, first, 4, now_s=first + 2_000) is None, "then dead"
    # a receiver's Retry-After is honoured; a due time never lies in the past
    later = next_attempt(schedule, first, 1, now_s=first + 1, retry_after_s=60, rng=rng)
    assert later == first + 61
    assert next_attempt(schedule, first, 1, now_s=first + 100, rng=rng) == first + 100
    assert DEFAULT_SCHEDULE == (5, 300, 1_800, 7_200, 18_000, 36_000, 36_000)
    for bad in ("", "5,3", "-1", "x"):
        with pytest.raises(ValueError):
            parse_schedule(bad)


async def test_private_targets_are_recognised() -> None:
    for url in (
        "http://127.0.0.1:8000/h",
        "http://10.1.2.3/h",
        "http://[::1]/h",
        "http://localhost/h",
    ):
        with pytest.raises(PrivateTarget):
            await check_target(url)
    assert url_problem("ftp://example.com/x") is not None
    assert url_problem("https://user:pw@example.com/x") is not None
    assert url_problem("https://example.com/hooks") is None
