"""The writer keeps each change's metadata (actor, commit reference, idempotency record) with
its LSN, also when a later request answers that same LSN: a no-op commit or release that
found the change already made, while the change waits for its batch. The real LedgerWriter
over the simulated ledger of tests/unit/sim_ledger.py."""

from __future__ import annotations

import asyncio
import random

from tests.unit.sim_ledger import FakePool, LedgerModel

from reservoir import _core
from reservoir.ledger.changes import ChangeMeta, IdempotencyRecord
from reservoir.ledger.recovery import rebuild_engine
from reservoir.ledger.writer import LedgerWriter

NOW = 1_790_000_000_000


async def _writer() -> tuple[LedgerModel, _core.Engine, LedgerWriter]:
    model = LedgerModel(("S",), (("A", True),))
    pool = FakePool(model, random.Random(0), write_fault_p=0, read_fault_p=0)
    engine = await rebuild_engine(pool, _core.Limits())  # type: ignore[arg-type]
    writer = LedgerWriter(
        pool,  # type: ignore[arg-type]
        engine,
        batch_rows_max=100,
        flush_interval_ms=0,
        on_failure=lambda exc: None,
        epoch=1,
    )
    writer.start()
    lsn, _ = engine.receive("S", "A", 5, NOW)
    await writer.durable(lsn, ChangeMeta("warehouse:w"))
    return model, engine, writer


async def test_a_no_op_commit_does_not_replace_the_commits_metadata() -> None:
    model, engine, writer = await _writer()
    hold = engine.reserve([("S", 2, None)], 60_000, NOW)
    await writer.durable(hold.lsn, ChangeMeta("storefront:a"))
    record = IdempotencyRecord("storefront:a", "commit-1", "hash", 200, b"{}")
    first = engine.commit(hold.id, NOW)
    meta = ChangeMeta("storefront:a", commit_reference="order-1", idempotency=record)
    committing = asyncio.create_task(writer.durable(first.lsn, meta))
    again = engine.commit(hold.id, NOW)  # before the first's batch is drained
    assert not again.changed and again.lsn == first.lsn
    no_op = asyncio.create_task(writer.durable(again.lsn, ChangeMeta("storefront:b")))
    await asyncio.gather(committing, no_op)
    rows = [(e["kind"], e["actor"]) for e in model.by_lsn[first.lsn]]
    assert rows == [("commit", "storefront:a")]
    assert model.reservations[hold.id]["commit_reference"] == "order-1"
    assert ("storefront:a", "commit-1") in model.answers
    await writer.close()


async def test_a_no_op_release_keeps_its_own_idempotency_record() -> None:
    model, engine, writer = await _writer()
    hold = engine.reserve([("S", 1, None)], 60_000, NOW)
    await writer.durable(hold.lsn, ChangeMeta("storefront:a"))
    first = engine.release(hold.id, NOW)
    releasing = asyncio.create_task(writer.durable(first.lsn, ChangeMeta("storefront:a")))
    again = engine.release(hold.id, NOW)
    assert not again.changed and again.lsn == first.lsn
    record = IdempotencyRecord("storefront:b", "release-2", "hash", 200, b"{}")
    meta = ChangeMeta("storefront:b", idempotency=record)
    no_op = asyncio.create_task(writer.durable(again.lsn, meta))
    await asyncio.gather(releasing, no_op)
    assert [e["actor"] for e in model.by_lsn[first.lsn]] == ["storefront:a"]
    assert ("storefront:b", "release-2") in model.answers
    await writer.close()
