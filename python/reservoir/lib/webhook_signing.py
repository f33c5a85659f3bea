"""Webhook signatures as the Standard Webhooks spec has them, and the retry schedule.

A message is signed with each of the endpoint's secrets in force (the new and, during a
rotation's grace period, the old one): `webhook-signature: v1,<base64 HMAC-SHA256 of
"{id}.{timestamp}.{body}">`, space-separated when there are two. A secret is `whsec_`
followed by the base64 of its key bytes. Written by hand: a dozen lines over `hmac`, where a
library would bring a client we do not need.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import secrets
from collections.abc import Iterable, Sequence

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24
# Standard Webhooks' schedule, in seconds after the first attempt
DEFAULT_SCHEDULE = (5, 300, 1_800, 7_200, 18_000, 36_000, 36_000)
JITTER = 0.1  # each retry moves by up to ±10 %, so endpoints' retries do not come in waves


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def is_secret(value: str) -> bool:
    if not value.startswith(SECRET_PREFIX):
        return False
    try:
        key = base64.b64decode(value[len(SECRET_PREFIX) :], validate=True)
    except ValueError:
        return False
    return 16 <= len(key) <= 64


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<signature>` of one secret."""
    key = base64.b64decode(secret[len(SECRET_PREFIX) :])
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(
    secrets_in_force: Iterable[str], msg_id: str, timestamp: int, body: bytes
) -> str:
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets_in_force)


def parse_schedule(text: str) -> tuple[int, ...]:
    """`5,300,1800`: seconds after the first attempt, increasing (ValueError otherwise)."""
    steps = tuple(int(part) for part in text.split(",") if part.strip())
    if not steps or any(s < 0 for s in steps) or list(steps) != sorted(steps):
        raise ValueError("seconds after the first attempt, increasing, e.g. 5,300,1800")
    return steps


def next_attempt(
    schedule: Sequence[int],
    first_attempt_s: float,
    attempts: int,
    now_s: float,
    retry_after_s: float | None = None,
    rng: random.Random | None = None,
) -> float | None:
    """When to try again after `attempts` failed attempts (None: the schedule is spent, the
    message is dead): the schedule's step after the first attempt, with jitter, and not
    before the receiver's `Retry-After`."""
    if attempts > len(schedule):
        return None
    step = schedule[attempts - 1]
    jitter = (rng or random).uniform(-JITTER, JITTER) * step
    due = first_attempt_s + step + jitter
    if retry_after_s is not None:
        due = max(due, now_s + retry_after_s)
    return max(due, now_s)
