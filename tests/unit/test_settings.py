from pathlib import Path

import pytest

from reservoir.lib.settings import Settings, SettingsError


def test_defaults_follow_the_contract() -> None:
    s = Settings.from_env({})
    assert s.database_url is None
    assert s.redis_url is None
    assert s.api_keys is None
    assert s.data_dir == Path(".reservoir")
    assert (s.host, s.port) == ("127.0.0.1", 8000)
    assert s.lines_per_reservation_max == 100
    assert s.quantity_per_line_max == 1_000_000
    assert s.ttl_seconds_max == 86_400
    assert s.ttl_seconds_default == 900
    assert s.body_bytes_max == 65_536
    assert s.flush_interval_ms == 2
    assert s.batch_rows_max == 5_000
    assert s.expiry_interval_ms == 100
    assert s.api_keys_path == Path(".reservoir/api-keys.json")
    assert s.embedded_pgdata == Path(".reservoir/pg")


def test_every_field_is_read_from_reservoir_upper_name() -> None:
    env = {
        "RESERVOIR_DATABASE_URL": "postgresql://u@h/db",
        "RESERVOIR_DATA_DIR": "/var/lib/reservoir",
        "RESERVOIR_REDIS_URL": "redis://localhost:6379/0",
        "RESERVOIR_API_KEYS": "admin:k",
        "RESERVOIR_HOST": "0.0.0.0",
        "RESERVOIR_PORT": "9000",
        "RESERVOIR_LINES_PER_RESERVATION_MAX": "10",
        "RESERVOIR_QUANTITY_PER_LINE_MAX": "1_000",
        "RESERVOIR_TTL_SECONDS_MAX": "60",
        "RESERVOIR_TTL_SECONDS_DEFAULT": "30",
        "RESERVOIR_BODY_BYTES_MAX": "4096",
        "RESERVOIR_FLUSH_INTERVAL_MS": "5",
        "RESERVOIR_BATCH_ROWS_MAX": "100",
        "RESERVOIR_EXPIRY_INTERVAL_MS": "50",
        "RESERVOIR_POOL_SIZE": "4",
    }
    s = Settings.from_env(env)
    assert s.database_url == "postgresql://u@h/db"
    assert s.data_dir == Path("/var/lib/reservoir")
    assert s.redis_url == "redis://localhost:6379/0"
    assert s.api_keys == "admin:k"
    assert (s.host, s.port) == ("0.0.0.0", 9000)
    assert s.lines_per_reservation_max == 10
    assert s.quantity_per_line_max == 1000
    assert (s.ttl_seconds_max, s.ttl_seconds_default) == (60, 30)
    assert s.body_bytes_max == 4096
    assert (s.flush_interval_ms, s.batch_rows_max, s.expiry_interval_ms) == (5, 100, 50)
    assert s.pool_size == 4


def test_empty_variables_keep_the_default() -> None:
    s = Settings.from_env({"RESERVOIR_DATABASE_URL": "", "RESERVOIR_PORT": "  "})
    assert s.database_url is None
    assert s.port == 8000


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"RESERVOIR_PORT": "eighty"}, "RESERVOIR_PORT"),
        ({"RESERVOIR_PORT": "70000"}, "RESERVOIR_PORT"),
        ({"RESERVOIR_POOL_SIZE": "0"}, "RESERVOIR_POOL_SIZE"),
        ({"RESERVOIR_BATCH_ROWS_MAX": "-5"}, "RESERVOIR_BATCH_ROWS_MAX"),
        ({"RESERVOIR_BODY_BYTES_MAX": "12"}, "RESERVOIR_BODY_BYTES_MAX"),
        ({"RESERVOIR_TTL_SECONDS_DEFAULT": "100000"}, "RESERVOIR_TTL_SECONDS_DEFAULT"),
        ({"RESERVOIR_DATABASE_URL": "localhost:5432"}, "RESERVOIR_DATABASE_URL"),
        ({"RESERVOIR_REDIS_URL": "localhost"}, "RESERVOIR_REDIS_URL"),
        ({"RESERVOIR_LOG_LEVEL": "loud"}, "RESERVOIR_LOG_LEVEL"),
    ],
)
def test_invalid_values_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_overrides_win_and_are_checked() -> None:
    assert Settings.from_env({"RESERVOIR_PORT": "1"}, port=2).port == 2
    with pytest.raises(SettingsError, match="RESERVOIR_PORT"):
        Settings.from_env({}, port=-1)
