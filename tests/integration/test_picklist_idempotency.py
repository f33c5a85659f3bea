"""Pick lists under an `Idempotency-Key`: made exactly once, the key's answer stored in the
same transaction as the list (a kill -9 or a refused key never leaves one without the
other). The module's server is its own: one test kills and restarts it."""

from __future__ import annotations

from tests.integration.test_lots import hold, placed_sku, receive


async def test_a_pick_list_made_under_an_idempotency_key_is_made_once_across_a_kill_9(
    server, server_db
):
    wh, sku, bin_code = placed_sku(server, 6, 1)
    with server.client("warehouse") as client:
        receive(client, sku, bin_code, 4, "A", "2027-04-01")
    rid = hold(server, sku, 2, commit=True)["id"]
    key = {"Idempotency-Key": f"{wh.code}-create-1"}
    with server.client("warehouse") as client:
        first = client.post("/v1/picklists", json={"warehouse": wh.code}, headers=key)
        assert first.status_code == 201, first.text
    # The answer is stored with the list, not later: a kill -9 right now loses neither.
    stored = await server_db.fetchval(
        "SELECT status_code FROM idempotency_keys WHERE key = $1", key["Idempotency-Key"]
    )
    assert stored == 201
    server.restart(kill=True)
    with server.client("warehouse") as client:
        again = client.post("/v1/picklists", json={"warehouse": wh.code}, headers=key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    lists = await server_db.fetchval(
        "SELECT count(*) FROM pick_lists WHERE warehouse = $1", wh.code
    )
    assert lists == 1
    assert [s["reservation_id"] for s in first.json()["stops"]] == [rid]


async def test_a_pick_list_whose_key_cannot_be_stored_is_not_made(server, server_db):
    wh, sku, bin_code = placed_sku(server, 6, 3)
    with server.client("warehouse") as client:
        receive(client, sku, bin_code, 4)
    hold(server, sku, 2, commit=True)
    key = {"Idempotency-Key": f"fault-{wh.code}"}
    await server_db.execute(
        """
        CREATE FUNCTION test_refuse_key() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.key LIKE 'fault-%' THEN RAISE EXCEPTION 'injected: keys refused'; END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER test_refuse_key BEFORE INSERT ON idempotency_keys
            FOR EACH ROW EXECUTE FUNCTION test_refuse_key();
        """
    )
    try:
        with server.client("warehouse") as client:
            refused = client.post("/v1/picklists", json={"warehouse": wh.code}, headers=key)
        assert refused.status_code >= 500, refused.text
        made = "SELECT count(*) FROM pick_lists WHERE warehouse = $1"
        assert await server_db.fetchval(made, wh.code) == 0, "no list without its key"
    finally:
        await server_db.execute(
            "DROP TRIGGER test_refuse_key ON idempotency_keys; DROP FUNCTION test_refuse_key()"
        )
    with server.client("warehouse") as client:
        made_now = client.post("/v1/picklists", json={"warehouse": wh.code}, headers=key)
        again = client.post("/v1/picklists", json={"warehouse": wh.code}, headers=key)
    assert made_now.status_code == 201, made_now.text
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == made_now.json()
    assert await server_db.fetchval(made, wh.code) == 1
