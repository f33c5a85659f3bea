"""Free text in bodies (names, references, reasons, channels, lots): one rule for all of it.

A text is 1..`length_max` printable characters (not only spaces); an optional one may be
absent (None). Anything else is 422 naming the field.
"""

from __future__ import annotations

from reservoir.lib.errors import invalid_input

TEXT_LENGTH_MAX = 255  # references, reasons, channels, lots
NAME_LENGTH_MAX = 200  # names of items and locations, products


def check_text(
    field: str, value: str | None, *, required: bool = False, length_max: int = TEXT_LENGTH_MAX
) -> None:
    if value is None:
        if required:
            raise invalid_input(field, f"`{field}` is required.")
        return
    if not value.strip():
        raise invalid_input(field, f"`{field}` must not be empty.")
    if len(value) > length_max:
        raise invalid_input(field, f"`{field}` must be at most {length_max} characters.")
    if not value.isprintable():
        raise invalid_input(field, f"`{field}` must not contain control characters.")
