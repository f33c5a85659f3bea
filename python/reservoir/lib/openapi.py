"""What the OpenAPI document says beyond the handlers' signatures, declared at the routes:

- `problem_responses(*statuses)`: the `responses=` of a route, one `application/problem+json`
  answer (the `Problem` schema) per status it can give. `AUTHED` (401/403: the role check),
  `BODY` (400/413/422: a decoded body) and `LIMITS` (414/431: the URL and header limits,
  on every route) are the usual groups.
- `OpenOperation`: the `operation_class` of a route open without a key (`security: []`).
- `StrictStructSchemaPlugin`: a body Struct with `forbid_unknown_fields` is documented with
  `additionalProperties: false`, as the decoder refuses unknown fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Operation
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition

from reservoir.lib.errors import PROBLEM_MEDIA_TYPE

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.openapi.spec import Schema


class FieldError(msgspec.Struct, omit_defaults=True):
    field: str
    message: str
    source: str | None = None


class Shortage(msgspec.Struct):
    sku: str | None
    requested: int | None
    available: int | None


class Problem(msgspec.Struct, omit_defaults=True):
    """An error answer (RFC 9457) with the extension members the API uses."""

    type: str
    title: str
    status: int
    detail: str
    field: str | None = None  # the input field at fault, as a path (`lines[0].quantity`)
    errors: list[FieldError] | None = None  # every field at fault (400 / 422 from decoding)
    limit_bytes: int | None = None  # 413, 414, 431
    depth_max: int | None = None  # 422 nesting-too-deep
    shortages: list[Shortage] | None = None  # 409 insufficient-stock
    sku: str | None = None
    location: str | None = None
    warehouse: str | None = None
    reservation_id: str | None = None
    reservation_status: str | None = None
    pick_list_id: str | None = None
    channel: str | None = None  # 422 unknown-channel
    channels: list[str] | None = None  # 403 channel-not-allowed: the key's channels
    current: int | None = None  # 409 buyer-limit: what the buyer has
    requested: int | None = None  # 409 buyer-limit
    per_buyer_max: int | None = None  # 409 buyer-limit
    drop: str | None = None  # 409 drop-not-started, 404 unknown-drop
    starts_at: str | None = None  # 409 drop-not-started
    limit: str | None = None  # 429 rate-limited: "key" or "buyer"
    retry_after_seconds: int | None = None  # 429 rate-limited (also `Retry-After`)


_DESCRIPTIONS = {
    400: "The body or a parameter has the wrong type or shape, or the JSON is malformed",
    401: "No, a malformed or an unknown API key",
    403: "The key's role may not call this",
    404: "No such resource",
    409: "The state forbids it (stock, a buyer's cap, a reservation or pick list, a key in flight)",
    429: "Too many holds for the API key or the buyer: retry after `Retry-After` seconds",
    413: "The body is larger than the limit",
    414: "The URL is longer than 8,192 bytes",
    415: "The body is not JSON",
    422: "A value breaks a rule (range, length, unknown SKU or location, nesting depth, …)",
    431: "The headers are larger than 16,384 bytes together",
    503: "Not acknowledged: the ledger or PostgreSQL is unavailable, or the writer is behind",
}

AUTHED = (401, 403)
BODY = (400, 413, 422)
LIMITS = (414, 431)


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """`responses=` for a route that can answer these statuses (and the LIMITS) as problems."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_DESCRIPTIONS[status],
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for status in sorted({*statuses, *LIMITS})
    }


@dataclass
class OpenOperation(Operation):
    """An operation open without an API key: `security: []` overrides the global bearer."""

    def __post_init__(self) -> None:
        self.security = []


class StrictStructSchemaPlugin(OpenAPISchemaPlugin):
    """Documents Structs declared `forbid_unknown_fields=True` as closed objects."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        kind = field_definition.type_
        return (
            not field_definition.is_union
            and isinstance(kind, type)
            and issubclass(kind, msgspec.Struct)
            and bool(getattr(kind, "__struct_config__", None))
            and kind.__struct_config__.forbid_unknown_fields
        )

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin

        schema = StructSchemaPlugin().to_openapi_schema(field_definition, schema_creator)
        schema.additional_properties = False
        return schema
