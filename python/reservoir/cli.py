"""The `reservoir` command: serve, migrate, verify, reconcile, keys.

Settings come from `RESERVOIR_*` variables (see reservoir/lib/settings.py). Exit status: 0 on
success, 1 when the command ran and failed (lock held, ledger differs, database unreachable),
2 for bad configuration or usage.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from reservoir.lib.api_keys import ROLES, ApiKeyConfigError, key_id, parse_api_keys
from reservoir.lib.settings import Settings, SettingsError

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2

logger = logging.getLogger("reservoir")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        return _fail(str(exc), EXIT_CONFIG)
    _configure_logging(settings.log_level)
    command: Callable[[argparse.Namespace, Settings], int] = args.run
    try:
        return command(args, settings)
    except ApiKeyConfigError as exc:
        return _fail(str(exc), EXIT_CONFIG)
    except KeyboardInterrupt:
        return EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reservoir", description="Inventory reservation engine over a PostgreSQL ledger."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the service (one process owns the ledger)")
    serve.add_argument("--host", help="bind address (default RESERVOIR_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default RESERVOIR_PORT or 8000)")
    serve.set_defaults(run=serve_command)
    migrate = sub.add_parser("migrate", help="apply database migrations and partitions")
    migrate.set_defaults(run=migrate_command)
    verify = sub.add_parser(
        "verify", help="prove SUM(ledger) = levels (= the running engine); exit 1 if not"
    )
    verify.add_argument(
        "--server",
        metavar="URL",
        help="also check the engine of the `reservoir serve` at URL (e.g. http://127.0.0.1:8000)"
        " against the ledger, with the admin key in RESERVOIR_ADMIN_KEY (or the first admin"
        " key of RESERVOIR_API_KEYS)",
    )
    verify.set_defaults(run=verify_command)
    reconcile = sub.add_parser(
        "reconcile",
        help="send an outside count file (CSV) to the server, print the discrepancies;"
        " exit 1 if any is flagged",
    )
    reconcile.add_argument(
        "--from",
        dest="count_file",
        required=True,
        metavar="FILE|URL",
        help="CSV with the header sku,location,quantity,source,counted_at",
    )
    reconcile.add_argument("--source", help="where the counts come from (default: the file name)")
    reconcile.add_argument("--server", default="http://127.0.0.1:8000", metavar="URL")
    reconcile.add_argument("--threshold-units", type=int, default=1, metavar="N")
    reconcile.add_argument("--threshold-percent", type=float, metavar="P")
    reconcile.set_defaults(run=reconcile_command)
    keys = sub.add_parser(
        "keys", help="list, create or revoke API keys (the key file keeps only their hashes)"
    )
    keys.set_defaults(run=keys_list_command)
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="ACTION")
    keys_list = keys_sub.add_parser(
        "list", help="ids, roles, names, created, last use, revoked (the default)"
    )
    keys_list.set_defaults(run=keys_list_command)
    create = keys_sub.add_parser(
        "create", help="make a new key and print it once (stdout: the key alone)"
    )
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--name", help="what the key is for (shown by `keys list`)")
    create.add_argument(
        "--channels",
        help="a storefront key's sales channels, comma-separated: it reserves only for those",
    )
    create.set_defaults(run=keys_create_command)
    revoke = keys_sub.add_parser(
        "revoke", help="revoke a key by id; the running server refuses it within a second"
    )
    revoke.add_argument("id", help="the key id (from `reservoir keys list`)")
    revoke.set_defaults(run=keys_revoke_command)
    return parser


# --- serve ------------------------------------------------------------------------------------


def serve_command(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from reservoir.server.app import create_app
    from reservoir.server.gc_tuning import tune_gc

    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    app = create_app(settings, exit_on_lock_loss=True)
    tune_gc()
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http="httptools" if importlib.util.find_spec("httptools") else "h11",
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=settings.keep_alive_seconds,
    )
    server = uvicorn.Server(config)
    # another process took the ledger over: shut down gracefully, then exit non-zero
    app.state.stop_server = lambda: setattr(server, "should_exit", True)
    logging.getLogger("uvicorn.error").addFilter(_ExpectedStartupFailure(app.state))
    try:
        server.run()
    except SystemExit as exc:  # uvicorn exits by itself when start-up fails
        if not app.state.get("startup_error"):
            raise
        if exc.code not in (None, 0):
            logger.debug("uvicorn exited with %s", exc.code)
    error = app.state.get("startup_error")
    if error:
        return _fail(f"cannot start: {error}", EXIT_FAILED)
    if not server.started:
        return _fail("the server did not start (see the log above)", EXIT_FAILED)
    stop_reason = app.state.get("stop_reason")
    if stop_reason:
        return _fail(f"stopped: {stop_reason}", EXIT_FAILED)
    return EXIT_OK


class _ExpectedStartupFailure(logging.Filter):
    """Drops uvicorn's traceback of a start-up failure already explained in one line
    (ledger lock held, database unreachable, …); unexpected failures keep their traceback."""

    def __init__(self, state: Any) -> None:
        super().__init__()
        self.state = state

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.state.get("startup_error_expected"):
            return True
        return "Traceback" not in record.getMessage()


# --- migrate / verify: one connection to the ledger ------------------------------------------


@asynccontextmanager
async def _connect(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    embedded = None
    dsn = settings.database_url
    if not dsn:
        from reservoir.lib.embedded import start_embedded_postgres

        embedded = await asyncio.to_thread(start_embedded_postgres, settings.embedded_pgdata)
        dsn = embedded.dsn
    try:
        conn = await asyncpg.connect(dsn, server_settings={"application_name": "reservoir-cli"})
        try:
            yield conn
        finally:
            await conn.close()
    finally:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)


def migrate_command(args: argparse.Namespace, settings: Settings) -> int:
    from reservoir.ledger.migrate import MigrationError, prepare_ledger, schema_version

    async def run() -> int:
        async with _connect(settings) as conn:
            applied = await prepare_ledger(conn)
            current = await schema_version(conn)
        done = f"applied {', '.join(map(str, applied))}" if applied else "nothing to apply"
        print(f"schema at version {current} ({done})")
        return EXIT_OK

    try:
        return asyncio.run(run())
    except (MigrationError, OSError, asyncpg.PostgresError) as exc:
        return _fail(f"migrate failed: {exc}", EXIT_FAILED)


def verify_command(args: argparse.Namespace, settings: Settings) -> int:
    from reservoir.ledger.migrate import schema_version
    from reservoir.ledger.verify import summarize, verify

    async def run() -> int:
        async with _connect(settings) as conn:
            if await schema_version(conn) == 0:
                return _fail("the database has no ledger yet (run `reservoir migrate`)", 1)
            differences = await verify(conn)
            summary = await summarize(conn)
        if args.server:
            differences += await _engine_differences(args.server, settings)
        if differences:
            for line in differences:
                print(line)
            print(f"ledger differs: {len(differences)} difference(s) ({summary})")
            return EXIT_FAILED
        engine = f"; the engine at {args.server} equals it" if args.server else ""
        print(f"ledger verified: {summary}{engine}")
        return EXIT_OK

    try:
        return asyncio.run(run())
    except (OSError, asyncpg.PostgresError) as exc:
        return _fail(f"verify failed: {exc}", EXIT_FAILED)
    except Exception as exc:  # httpx errors reaching --server
        if type(exc).__module__.startswith("httpx"):
            return _fail(f"verify failed: cannot reach the server: {exc!r}", EXIT_FAILED)
        raise


ADMIN_KEY_VARIABLE = "RESERVOIR_ADMIN_KEY"


async def _engine_differences(url: str, settings: Settings) -> list[str]:
    """The running engine against its ledger, through `GET /v1/admin/verify`."""
    import httpx

    admin_key = _admin_key(settings)
    if admin_key is None:
        return [
            f"no admin API key: set {ADMIN_KEY_VARIABLE} (the key file keeps only hashes;"
            " `reservoir keys create --role admin` makes one)"
        ]
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        response = await client.get(
            "/v1/admin/verify", headers={"Authorization": f"Bearer {admin_key}"}
        )
    if response.status_code != 200:
        return [f"the server at {url} answered {response.status_code}: {response.text[:300]}"]
    return list(response.json()["differences"])


def _admin_key(settings: Settings) -> str | None:
    return _role_key(settings, ADMIN_KEY_VARIABLE, "admin")


def _role_key(settings: Settings, variable: str, *roles: str) -> str | None:
    """The key in `variable`, else the first key of one of `roles` in RESERVOIR_API_KEYS."""
    key = os.environ.get(variable, "").strip()
    if key:
        return key
    if settings.api_keys is not None:
        configured = parse_api_keys(settings.api_keys)
        for role in roles:
            keys = configured.keys_for(role)
            if keys:
                return keys[0]
    return None


# --- reconcile --------------------------------------------------------------------------------

WAREHOUSE_KEY_VARIABLE = "RESERVOIR_WAREHOUSE_KEY"
DISCREPANCIES_SHOWN_MAX = 20


def _read_counts(source: str) -> bytes:
    """The count file's bytes, from a path or an http(s) URL, with a progress bar."""
    import urllib.request

    from rich.progress import Progress

    chunks: list[bytes] = []
    with Progress(transient=True) as progress:
        if source.startswith(("http://", "https://")):
            stream = urllib.request.urlopen(source, timeout=60)
            total = int(stream.headers.get("Content-Length") or 0) or None
        else:
            stream = open(source, "rb")  # noqa: SIM115 (closed below)
            total = os.fstat(stream.fileno()).st_size
        task = progress.add_task(f"reading {source}", total=total)
        with stream:
            while chunk := stream.read(1 << 20):
                chunks.append(chunk)
                progress.advance(task, len(chunk))
    return b"".join(chunks)


def reconcile_command(args: argparse.Namespace, settings: Settings) -> int:
    """Posts the counts as CSV and prints the reconciliation's summary and discrepancies."""
    import httpx

    key = _role_key(settings, WAREHOUSE_KEY_VARIABLE, "warehouse", "admin")
    if key is None:
        return _fail(
            f"no warehouse API key: set {WAREHOUSE_KEY_VARIABLE}"
            " (`reservoir keys create --role warehouse` makes one)",
            EXIT_CONFIG,
        )
    try:
        body = _read_counts(args.count_file)
    except OSError as exc:
        return _fail(f"cannot read {args.count_file}: {exc}", EXIT_CONFIG)
    params: dict[str, str] = {
        "source": args.source or os.path.basename(args.count_file) or "counts",
        "threshold_units": str(args.threshold_units),
    }
    if args.threshold_percent is not None:
        params["threshold_percent"] = str(args.threshold_percent)
    lines = body.count(b"\n") - 1
    print(f"sending {lines:,} lines to {args.server} ...", flush=True)
    try:
        response = httpx.post(
            f"{args.server}/v1/reconciliations",
            content=body,
            params=params,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "text/csv"},
            timeout=600,
        )
    except httpx.HTTPError as exc:
        return _fail(f"cannot reach the server: {exc!r}", EXIT_FAILED)
    if response.status_code != 201:
        return _fail(f"refused ({response.status_code}): {response.text[:2000]}", EXIT_FAILED)
    rec = response.json()
    print(
        f"{rec['id']} from {rec['source']}: {rec['lines']:,} lines, "
        f"{len(rec['discrepancies']):,}{'+' if rec.get('next') else ''} differ from the ledger, "
        f"{rec['flagged']:,} flagged"
    )
    for line in rec["discrepancies"][:DISCREPANCIES_SHOWN_MAX]:
        mark = "!" if line["flagged"] else " "
        print(
            f" {mark} line {line['line_no']}: {line['sku']} at {line.get('location') or '(all)'}"
            f" counted {line['counted']}, ledger {line['expected']} ({line['difference']:+d})"
        )
    return EXIT_FAILED if rec["flagged"] else EXIT_OK


# --- keys -------------------------------------------------------------------------------------


def _file_keys_only(settings: Settings, action: str) -> None:
    if settings.api_keys is not None:
        raise ApiKeyConfigError(
            f"RESERVOIR_API_KEYS is set, so the keys are those it lists: {action} them there"
            " (or unset it to use the key file in the data dir)"
        )


def keys_list_command(args: argparse.Namespace, settings: Settings) -> int:
    from reservoir.lib import key_file, key_usage

    if settings.api_keys is not None:
        print("API keys from RESERVOIR_API_KEYS:")
        _print_table(
            [
                (key_id(key), role, "", "", "", "")
                for role, key in parse_api_keys(settings.api_keys).entries
            ]
        )
        return EXIT_OK
    path = settings.api_keys_path.resolve()
    if not path.exists():
        print(
            f"no key file at {path} yet: `reservoir serve` makes one key per role on first"
            " start, or make one with `reservoir keys create --role ROLE`",
            file=sys.stderr,
        )
        return EXIT_OK
    records = key_file.read_current(path)
    last_use = key_usage.read(settings.api_keys_last_use_path)
    print(f"API keys in {path} (hashes only):")
    _print_table(
        [
            (r.id, r.role, r.name or "", r.created_at, last_use.get(r.id, ""), r.revoked_at or "")
            for r in records
        ]
    )
    return EXIT_OK


def _print_table(rows: list[tuple[str, ...]]) -> None:
    header = ("ID", "ROLE", "NAME", "CREATED", "LAST USE", "REVOKED")
    table = [header, *[tuple(cell or "-" for cell in row) for row in rows]]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def keys_create_command(args: argparse.Namespace, settings: Settings) -> int:
    from reservoir.lib import key_file

    _file_keys_only(settings, "add")
    path = settings.api_keys_path.resolve()
    channels = tuple(c.strip() for c in (args.channels or "").split(",") if c.strip())
    record, key = key_file.create(path, args.role, args.name, channels)
    print(key)
    print(
        f"created key {record.id} (role {record.role}) in {path}; the key is shown only this"
        " once, the file keeps its hash",
        file=sys.stderr,
    )
    return EXIT_OK


def keys_revoke_command(args: argparse.Namespace, settings: Settings) -> int:
    from reservoir.lib import key_file

    _file_keys_only(settings, "remove")
    path = settings.api_keys_path.resolve()
    try:
        record = key_file.revoke(path, args.id)
    except key_file.UnknownKeyError:
        return _fail(f"no key with id {args.id!r} in {path} (see `reservoir keys list`)", 1)
    print(f"key {record.id} (role {record.role}) revoked at {record.revoked_at}", file=sys.stderr)
    return EXIT_OK


# --- helpers ----------------------------------------------------------------------------------


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("pgserver").setLevel(logging.WARNING)


def _fail(message: str, status: int) -> int:
    print(f"reservoir: {message}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
