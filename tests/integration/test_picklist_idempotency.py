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


REFUSE_KEYS = """
CREATE FUNCTION test_refuse_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.key LIKE 'fault-%' THEN RAISE EXCEPTION 'injected: keys refused'; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER test_refuse_key BEFORE INSERT ON idempotency_keys
    FOR EACH ROW EXECUTE FUNCTION test_refuse_key();
"""
ACCEPT_KEYS = "DROP TRIGGER test_refuse_key ON idempotency_keys; DROP FUNCTION test_refuse_key()"


async def test_a_pick_list_whose_key_cannot_be_stored_is_not_made(server, server_db):
    wh, sku, bin_code = placed_sku(server, 6, 3)
    with server.client("warehouse") as client:
        receive(client, sku, bin_code, 4)
    hold(server, sku, 2, commit=True)
    key = {"Idempotency-Key": f"fault-{wh.code}"}
    await server_db.execute(REFUSE_KEYS)
    try:
        with server.client("warehouse") as client:
            refused = client.post("/v1/picklists", json={"warehouse": wh.code}, headers=key)
        assert refused.status_code >= 500, refused.text
        made = "SELECT count(*) FROM pick_lists WHERE warehouse = $1"
        assert await server_db.fetchval(made, wh.code) == 0, "no list without its key"
    finally:
        await server_db.execute(ACCEPT_KEYS)
    with server.client("warehouse") as client:
        made_now = client.post("/v1/picklists", json={"warehouse": wh.code}, headers=key)
        again = client.post("/v1/picklists", json={"warehouse": wh.code}, headers=key)
    assert made_now.status_code == 201, made_now.text
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == made_now.json()
    assert await server_db.fetchval(made, wh.code) == 1


async def test_a_confirmation_that_ships_nothing_commits_with_its_key_or_not_at_all(
    server, server_db
):
    wh, sku, bin_code = placed_sku(server, 7, 2)
    with server.client("warehouse") as client:
        receive(client, sku, bin_code, 3)
    rid = hold(server, sku, 3, commit=True)["id"]
    with server.client("warehouse") as client:
        pick_list = client.post("/v1/picklists", json={"warehouse": wh.code}).json()
    with server.client("storefront") as storefront:  # the order is cancelled: nothing ships
        assert storefront.post(f"/v1/reservations/{rid}/release").status_code == 200
    zero = {"picks": [{"seq": s["seq"], "quantity": 0} for s in pick_list["stops"]]}
    url, key = f"/v1/picklists/{pick_list['id']}/confirm", {"Idempotency-Key": f"fault-{rid}"}
    status = "SELECT status FROM pick_lists WHERE id = $1"
    await server_db.execute(REFUSE_KEYS)
    try:
        with server.client("warehouse") as client:
            refused = client.post(url, json=zero, headers=key)
        assert refused.status_code >= 500, refused.text
        assert await server_db.fetchval(status, pick_list["id"]) == "open", "not confirmed"
    finally:
        await server_db.execute(ACCEPT_KEYS)
    with server.client("warehouse") as client:
        done = client.post(url, json=zero, headers=key)
        again = client.post(url, json=zero, headers=key)
    assert done.status_code == 200, done.text
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == done.json()
    assert await server_db.fetchval(status, pick_list["id"]) == "confirmed"
