"""Schemathesis (`--checks all`) against `reservoir serve` on a fresh database with seeded
data: short and seeded (a bounded number of examples per operation), zero failures.

Two checks are excluded, each wrong for this API on purpose:
- positive_data_acceptance: JSON Schema calls `5.0` an integer and knows no value rules,
  but the API refuses `5.0` (400, strict decoding) and unknown SKUs or bad codes (422).
- allow_header_conformance: Litestar's automatic OPTIONS on the `{sku:path}` /
  `{code:path}` routes lists GET only, not PUT (Litestar's routing, not ours).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

EXCLUDED = "positive_data_acceptance,allow_header_conformance"


def test_schemathesis_finds_nothing(
    start_server: Callable[..., Any], database_factory: Callable[[], str], tmp_path: Path
) -> None:
    server = start_server(database_factory())
    try:
        with server.client("admin") as admin:
            assert admin.put("/v1/items/ST-SKU", json={"name": "St"}).status_code == 201
            assert admin.put("/v1/locations/ST-WH", json={"kind": "warehouse"}).status_code == 201
            bin_ = {"kind": "bin", "parent": "ST-WH", "aisle": 1, "position": 1}
            assert admin.put("/v1/locations/ST-BIN", json=bin_).status_code == 201
            receipt = {"sku": "ST-SKU", "location": "ST-BIN", "quantity": 1_000}
            assert admin.post("/v1/stock/receipts", json=receipt).status_code == 201
        key = server.headers("admin")["Authorization"]
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "st"),
                "run",
                f"{server.base_url}/schema/openapi.json",
                "--header",
                f"Authorization: {key}",
                "--checks",
                "all",
                "--exclude-checks",
                EXCLUDED,
                "--seed",
                "1",
                "--max-examples",
                "5",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=900,
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stdout[-6_000:] + result.stderr[-2_000:]
        assert "Tested: " in result.stdout
    finally:
        server.stop()
