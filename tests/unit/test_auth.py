import json
import stat
from pathlib import Path

import pytest

from reservoir.lib.auth import (
    ROLES,
    ApiKeyConfigError,
    Identity,
    key_id,
    load_api_keys,
    load_or_create_key_file,
    parse_api_keys,
    read_key_file,
)
from reservoir.lib.settings import Settings
from reservoir.server.app import create_app


def test_parse_role_key_pairs() -> None:
    keys = parse_api_keys(" storefront:sf1 , warehouse:wh1,admin:ad1,storefront:sf2 ")
    assert keys.entries == (
        ("storefront", "sf1"),
        ("warehouse", "wh1"),
        ("admin", "ad1"),
        ("storefront", "sf2"),
    )
    assert keys.roles() == {"storefront": "sf1", "warehouse": "wh1", "admin": "ad1"}
    assert keys.authenticate("sf2") == Identity("storefront", key_id("sf2"))
    assert keys.authenticate("ad1") == Identity("admin", key_id("ad1"))
    assert keys.authenticate("nope") is None
    assert keys.authenticate("") is None


def test_key_id_is_stable_and_not_the_key() -> None:
    assert key_id("secret-key") == key_id("secret-key")
    assert len(key_id("secret-key")) == 16
    assert "secret" not in key_id("secret-key")
    identity = Identity("storefront", key_id("k"))
    assert identity.actor == f"storefront:{key_id('k')}"


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


def test_key_file_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "data" / "api-keys.json"
    keys, created = load_or_create_key_file(path)
    assert created
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())
    assert set(stored) == set(ROLES)
    assert len(set(stored.values())) == 3
    assert all(len(k) >= 32 for k in stored.values())
    again, created_again = load_or_create_key_file(path)
    assert not created_again
    assert again.roles() == keys.roles() == stored
    assert not list(path.parent.glob(".*.tmp"))


def test_load_api_keys_prefers_the_environment(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, api_keys="admin:from-env")
    assert load_api_keys(settings).roles() == {"admin": "from-env"}
    assert not (tmp_path / "api-keys.json").exists()
    generated = load_api_keys(Settings(data_dir=tmp_path))
    assert (tmp_path / "api-keys.json").exists()
    assert load_api_keys(Settings(data_dir=tmp_path)).roles() == generated.roles()


def test_a_broken_key_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "api-keys.json"
    path.write_text("{not json")
    with pytest.raises(ApiKeyConfigError, match=r"api-keys\.json"):
        read_key_file(path)
    path.write_text(json.dumps({"wizard": "k"}))
    with pytest.raises(ApiKeyConfigError, match="unknown role 'wizard'"):
        read_key_file(path)


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
