"""SKU and location codes: 1..64 characters of `[A-Za-z0-9._:/-]` (docs/api.md "Conventions")."""

from __future__ import annotations

import re

from reservoir.lib.errors import invalid_input

CODE_LENGTH_MAX = 64
CODE_PATTERN = r"^[A-Za-z0-9._:/-]{1,64}$"
_CODE = re.compile(CODE_PATTERN)


def is_valid_code(value: object) -> bool:
    return isinstance(value, str) and _CODE.fullmatch(value) is not None


def check_code(value: str, field: str, *, status: int = 422) -> str:
    """Returns `value` if it is a valid code, else raises a problem naming `field`."""
    if not is_valid_code(value):
        raise invalid_input(
            field,
            f"`{field}` must be 1..{CODE_LENGTH_MAX} characters of A-Z a-z 0-9 . _ : / -"
            f" (got {value!r:.80})",
            status=status,
        )
    return value


def path_code(raw: str) -> str:
    """A code taken from a `{name:path}` route parameter (Litestar keeps the leading slash)."""
    return raw[1:] if raw.startswith("/") else raw
