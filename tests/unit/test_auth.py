import json
import stat
from pathlib import Path

import pytest

from reservoir.lib import key_file
from reservoir.lib.auth import (
    ROLES,
    ApiKeyConfigError,
    Identity,
    key_id,
    load_api_keys,
    parse_api_keys,
    sees,
)
from reservoir.lib.settings import Settings
from reservoir.server.app import create_app


def test_parse_role_key_pairs() -> None:
    env = parse_api_keys(" storefront:sf1 , warehouse:wh1,admin:ad1,storefront:sf2 ")
    assert env.entries == (
        ("storefront", "sf1"),
        ("warehouse", "wh1"),
        ("admin", "ad1"),
        ("storefront", "sf2"),
    )
    assert env.keys_for("storefront") == ["sf1", "sf2"]
    keys = env.api_keys()
    assert keys.authenticate("sf2") == Identity("storefront", key_id("sf2"))
    assert keys.authenticate("ad1") == Identity("admin", key_id("ad1"))
    assert keys.authenticate("nope") is None
    assert keys.authenticate("") is None
    assert keys.take_used() == {key_id("sf2"), key_id("ad1")}
    assert keys.take_used() == set()


def test_a_storefront_key_may_be_bound_to_channels() -> None:
    env = parse_api_keys("storefront:sf1@web+app,storefront:sf2,admin:ad1")
    assert env.entries == (("storefront", "sf1"), ("storefront", "sf2"), ("admin", "ad1"))
    keys = env.api_keys()
    assert keys.authenticate("sf1") == Identity("storefront", key_id("sf1"), ("web", "app"))
    assert keys.authenticate("sf2") == Identity("storefront", key_id("sf2"))
    assert keys.authenticate("sf1@web+app") is None, "the binding is not part of the key"


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("admin:ad1@web", "only a storefront key"),
        ("storefront:@web", "role:key@channel"),
        ("storefront:sf1@we b", "whitespace"),
        ("storefront:sf1@web+", "not a valid channel code"),
    ],
)
def test_bad_channel_bindings_are_refused(raw: str, says: str) -> None:
    with pytest.raises(ApiKeyConfigError, match=says):
        parse_api_keys(raw)


def test_a_managed_key_may_be_bound_to_channels(tmp_path: Path) -> None:
    path = tmp_path / "api-keys.json"
    record, key = key_file.create(path, "storefront", "web shop", ("web",))
    assert record.channels == ["web"]
    keys = load_api_keys(Settings(data_dir=tmp_path))
    assert keys.authenticate(key) == Identity("storefront", record.id, ("web",))
    with pytest.raises(ApiKeyConfigError, match="only a storefront key"):
        key_file.create(path, "warehouse", None, ("web",))


def test_key_id_is_stable_and_not_the_key() -> None:
    assert key_id("secret-key") == key_id("secret-key")
    assert len(key_id("secret-key")) == 16
    assert "secret" not in key_id("secret-key")
    identity = Identity("storefront", key_id("k"))
    assert identity.actor == f"storefront:{key_id('k')}"


def test_a_key_sees_what_it_made_and_admin_sees_all() -> None:
    mine, other = Identity("storefront", "a" * 16), Identity("storefront", "b" * 16)
    assert sees(mine, mine.actor)
    assert not sees(other, mine.actor)
    assert not sees(other, None)
    assert sees(Identity("admin", "c" * 16), mine.actor)
    assert not sees(Identity("warehouse", "a" * 16), mine.actor)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("admin", r"entry 1 \(admin\) is not of the form role:key"),
        ("admin:", "entry 1"),
        ("storefront:a,root:b", r"entry 2 \(root:b\) has unknown role 'root'"),
        ("admin:a b", "entry 1"),
        ("admin:abc,warehouse:abc", "entry 2 .* repeats a key"),
        (" , ", "holds no role:key entries"),
    ],
)
def test_bad_entries_are_named(raw: str, message: str) -> None:
    with pytest.raises(ApiKeyConfigError, match=message):
        parse_api_keys(raw)


def test_error_does_not_print_the_whole_key() -> None:
    with pytest.raises(ApiKeyConfigError) as info:
        parse_api_keys("boss:supersecretvalue")
    assert "supersecretvalue" not in str(info.value)


def test_key_file_is_generated_once_with_mode_0600_and_holds_no_key(tmp_path: Path) -> None:
    path = tmp_path / "data" / "api-keys.json"
    first = key_file.load_for_server(path)
    assert [role for role, _ in first.generated] == list(ROLES)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    for _, key in first.generated:
        assert len(key) >= 43  # 32 random bytes
        assert key not in text
    stored = json.loads(text)
    assert stored["version"] == 2
    assert [(k["role"], k["id"]) for k in stored["keys"]] == [
        (role, key_id(key)) for role, key in first.generated
    ]
    assert all(k["hash"].startswith("sha256:") and k["revoked_at"] is None for k in stored["keys"])
    again = key_file.load_for_server(path)
    assert not again.generated and not again.migrated
    assert again.records == first.records
    assert not list(path.parent.glob(".*.tmp"))


def test_load_api_keys_prefers_the_environment(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, api_keys="admin:from-env")
    keys = load_api_keys(settings)
    assert keys.authenticate("from-env") == Identity("admin", key_id("from-env"))
    assert not (tmp_path / "api-keys.json").exists()
    generated = load_api_keys(Settings(data_dir=tmp_path))
    assert (tmp_path / "api-keys.json").exists()
    again = load_api_keys(Settings(data_dir=tmp_path))
    assert sorted(i.actor for i in again.identities()) == sorted(
        i.actor for i in generated.identities()
    )


def test_create_and_revoke_change_the_accepted_keys(tmp_path: Path) -> None:
    path = tmp_path / "api-keys.json"
    record, key = key_file.create(path, "storefront", "shop")
    assert (record.role, record.name, record.id) == ("storefront", "shop", key_id(key))
    assert key not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    keys = load_api_keys(Settings(data_dir=tmp_path))
    assert keys.authenticate(key) == Identity("storefront", record.id)
    revoked = key_file.revoke(path, record.id)
    assert revoked.revoked_at is not None
    assert key_file.revoke(path, record.id).revoked_at == revoked.revoked_at
    keys.replace(key_file.active_entries(key_file.read(path)))
    assert keys.authenticate(key) is None
    with pytest.raises(key_file.UnknownKeyError):
        key_file.revoke(path, "0" * 16)


def test_a_plain_text_key_file_is_migrated_and_its_keys_keep_working(tmp_path: Path) -> None:
    path = tmp_path / "api-keys.json"
    old = {"storefront": "sf-old-key-0123456789", "admin": "ad-old-key-0123456789"}
    path.write_text(json.dumps(old))
    loaded = key_file.load_for_server(path)
    assert loaded.migrated and not loaded.generated
    text = path.read_text()
    assert all(key not in text for key in old.values())
    keys = load_api_keys(Settings(data_dir=tmp_path))
    for role, key in old.items():  # same key id, so the same actor and idempotency scope
        assert keys.authenticate(key) == Identity(role, key_id(key))


def test_a_broken_key_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "api-keys.json"
    path.write_text("{not json")
    with pytest.raises(ApiKeyConfigError, match=r"api-keys\.json"):
        key_file.read(path)
    path.write_text(json.dumps({"wizard": "k"}))
    with pytest.raises(ApiKeyConfigError, match="unknown role 'wizard'"):
        load_api_keys(Settings(data_dir=tmp_path))
    path.write_text(json.dumps({"version": 2, "keys": [{"id": "x"}]}))
    with pytest.raises(ApiKeyConfigError, match=r"api-keys\.json"):
        key_file.read(path)


def test_every_api_route_checks_a_role_before_anything_else(tmp_path: Path) -> None:
    """Each /v1 handler resolves a `requires_role` hook (a handler's own hook would replace
    its controller's; a route with none would be open), and none is response-cached (Litestar
    answers from its cache before the hook runs)."""
    app = create_app(Settings(data_dir=tmp_path, api_keys="admin:a"), write_path=[])
    checked = []
    for route in app.routes:
        if not route.path.startswith("/v1/"):
            continue
        for handler in route.route_handlers:
            if "OPTIONS" in getattr(handler, "http_methods", ()):
                continue
            hook = handler.resolve_before_request()
            name = getattr(hook, "__name__", "")
            assert name.startswith("requires_role("), f"{route.path}: {name or 'no role check'}"
            assert not getattr(handler, "cache", False), f"{route.path} is response-cached"
            checked.append((route.path, name))
    assert len(checked) >= 15, checked
    roles = dict(checked)
    assert roles["/v1/reservations"] == "requires_role(admin, storefront)"
    assert roles["/v1/admin/verify"] == "requires_role(admin)"
