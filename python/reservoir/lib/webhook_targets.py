"""Where a webhook may point: an http(s) URL; with `RESERVOIR_WEBHOOK_PRIVATE_TARGETS=deny`,
never a loopback, private, link-local or otherwise reserved address (SSRF), checked when
the endpoint is saved and again before each delivery (a name may change address)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

URL_LENGTH_MAX = 2048


class PrivateTarget(Exception):
    """The URL's host is, or resolves to, an address inside this network."""


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a webhook target, or None."""
    if len(url) > URL_LENGTH_MAX:
        return f"at most {URL_LENGTH_MAX} characters"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "must be an http:// or https:// URL"
    if not parts.hostname:
        return "has no host"
    if parts.username or parts.password:
        return "must not carry credentials"
    return None


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


async def check_target(url: str) -> None:
    """Raises PrivateTarget when the URL's host is or resolves to a private address."""
    host = urlsplit(url).hostname or ""
    try:
        if _private(host):
            raise PrivateTarget(f"{host} is a private address")
        return
    except ValueError:
        pass  # a name: resolve it
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise PrivateTarget(f"{host} does not resolve: {exc}") from exc
    for info in infos:
        if _private(str(info[4][0])):
            raise PrivateTarget(f"{host} resolves to the private address {info[4][0]}")
