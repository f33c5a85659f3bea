"""The checks of a run in their order: right after the load; then (drop scenarios) the
entries still waiting are cancelled; once every hold's and offer's TTL + 2 s has passed (API
and ledger); then `reservoir verify` live, stopped, and after a restart."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import asyncpg

from buyer_caps import check_buyer_cap
from check import Check
from drop_checks import check_drop_pools
from hold_checks import check_abandoned_expired, check_acked_holds, check_commit_answers
from locust_run import LoadResult
from records import Records
from run_checks import (
    check_answers,
    check_clean_stop,
    check_drop_within_stock,
    check_restart_levels,
)
from scenarios import Run
from sell_out import sell_out
from service import Service
from service_reads import availability, read_reservations
from stock_checks import (
    check_levels_match_acks,
    check_no_oversell_ever,
    check_no_oversell_now,
    check_receipts,
)
from stream_checks import check_streams
from verify import run_verify, verify_supports_server
from waitlist_checks import cancel_waiting, check_waitlist

EXPIRY_GRACE_S = 2.0


def touched_skus(run: Run, rec: Records) -> list[str]:
    """Every SKU the users held or received, and the drop SKU."""
    drop = {run.config["drop_sku"]} if "drop_sku" in run.config else set()
    return sorted(rec.skus() | drop)


async def checks_at_end_of_load(run: Run, touched: list[str]) -> list[Check]:
    """Right after the load: the drop and every touched SKU, before any TTL runs out."""
    levels_now = await availability(run.api.role("storefront"), touched)
    checks = [check_no_oversell_now(levels_now, "end of load")]
    if run.scenario.name == "flash-drop":
        drop = run.config["drop_sku"]
        checks.append(check_drop_within_stock(levels_now[drop], run.seeded[drop]))
    return checks


async def end_waitlists(run: Run, info: dict[str, Any]) -> float:
    """Once the load is over, cancels the waitlist entries still waiting (nobody is left to
    take their offers); the time by which the last offer made lapses (0: no waitlist)."""
    if not run.config.get("waitlist"):
        return 0.0
    info["cancelled"] = await cancel_waiting(run, run.config["drop_sku"])
    print(f"   cancelled the {info['cancelled']} waitlist entries still waiting")
    return time.time() + run.config["offer_ttl_s"]


async def wait_for_expiry(rec: Records, load: LoadResult, ttl: int, until: float = 0.0) -> None:
    """Until every TTL (and offer, `until`) + 2 s has passed."""
    deadline = max(rec.latest_expiry, load.ended_at + ttl, until) + EXPIRY_GRACE_S
    wait = deadline - time.time()
    if wait > 0:
        print(
            f"   waiting {wait:.1f} s for the last holds to expire (TTL + {EXPIRY_GRACE_S:.0f} s)"
        )
        await asyncio.sleep(wait)


async def checks_after_expiry(
    run: Run, rec: Records, load: LoadResult, touched: list[str], dsn: str, info: dict[str, Any]
) -> tuple[list[Check], dict[str, dict]]:
    """The final state through the API and the ledger; also the checks' levels (compared
    after the restart) and, in `info`, the drop's sell-out for the report."""
    storefront = run.api.role("storefront")
    read = await read_reservations(storefront, rec.holds)
    levels = await availability(storefront, touched)
    conn = await asyncpg.connect(dsn)
    try:
        checks = await _checks_with_ledger(conn, run, rec, load, levels, read, info)
    finally:
        await conn.close()
    checks.append(check_answers(load.statuses))
    return checks, levels


async def _checks_with_ledger(
    conn: asyncpg.Connection,
    run: Run,
    rec: Records,
    load: LoadResult,
    levels: dict[str, dict],
    read: dict[str, tuple[int, str | None]],
    info: dict[str, Any],
) -> list[Check]:
    seeded = sorted(run.seeded)
    checks = [check_no_oversell_now(levels, "after expiry")]
    checks.append(await check_no_oversell_ever(conn, seeded))
    checks += await check_acked_holds(conn, rec, read)
    checks += await check_abandoned_expired(conn, rec, levels, read, seeded)
    if "drop_sku" in run.config:
        info["sell_out"] = await sell_out(conn, run.config["drop_sku"])
    if "per_buyer_max" in run.config:
        check, info["buyers"] = await check_buyer_cap(
            conn, run.config["drop_sku"], run.config["per_buyer_max"]
        )
        checks.append(check)
    if "drop_code" in run.config:
        checks += await check_drop_pools(conn, run.config, info)
    if run.config.get("waitlist"):
        checks += await check_waitlist(conn, run, rec, info)
    if load.watchers:
        checks += await check_streams(conn, load.watchers, run.config["drop_sku"])
    checks.append(check_commit_answers(rec))
    exact = not any(k.endswith(" 0") for k in load.statuses) and not any(
        h.unanswered() for h in rec.holds.values()
    )
    checks.append(check_levels_match_acks(rec, levels, exact))
    if rec.receipts_sent or rec.picks:
        checks += await check_receipts(conn, rec, run.seeded, levels)
    return checks


async def checks_of_verify_and_restart(
    run: Run, service: Service, dsn: str, data_dir: Path, touched: list[str], levels: dict
) -> list[Check]:
    """Verify live (when the CLI can), stop, verify, restart: the engine recovered from the
    ledger equals the one before."""
    checks = []
    if await asyncio.to_thread(verify_supports_server):
        keys = run.config["keys"]
        checks.append(await asyncio.to_thread(run_verify, dsn, data_dir, service.base_url, keys))
    checks.append(check_clean_stop(service.stop()))
    checks.append(await asyncio.to_thread(run_verify, dsn, data_dir))
    if not run.args.no_restart_check:
        service.start()
        service.wait_ready()
        after = await availability(run.api.role("storefront"), touched)
        checks.append(check_restart_levels(touched, levels, after))
        service.stop()
    return checks
