"""One-shot calls of the benchmark runner: an HTTP request (no proxy) and a SQL query."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import asyncpg

_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(method: str, url: str, key: str | None = None, body: object = None) -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} | (
        {"Authorization": f"Bearer {key}"} if key else {}
    )
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with _http.open(req, timeout=30) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")[:300]


def sql(dsn: str, query: str, *params: object) -> list:
    async def go() -> list:
        con = await asyncpg.connect(dsn)
        try:
            return await con.fetch(query, *params)
        finally:
            await con.close()

    return asyncio.run(go())
