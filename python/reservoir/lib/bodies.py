"""Strict JSON request bodies.

Litestar converts bodies in msgspec's lax mode, which accepts `"5"` for an int and `1` for a
bool. The contract wants integers to be integers, so write-endpoints decode their body with
`StrictBody[Model]` instead: a DTO that decodes the raw bytes straight into the Struct with
msgspec in strict mode (one cached decoder per type; also the fastest path there is).

    @put("/v1/items/{sku:path}", dto=StrictBody[ItemIn], return_dto=None)
    async def put_item(self, data: ItemIn) -> ...

Errors come out as Litestar `ValidationException`s / `ClientException`s, which the one
exception handler turns into 400 problems naming the field.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import msgspec
from litestar.dto import MsgspecDTO
from litestar.exceptions import ClientException, ValidationException
from litestar.typing import FieldDefinition

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.openapi.spec import Reference, Schema

T = TypeVar("T", bound=msgspec.Struct)

_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)


@cache
def _decoder(model: type[Any]) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(model)


def decode_body(raw: bytes, model: type[T]) -> T:
    """Decodes `raw` into `model`, strictly; raises 400-mapped Litestar exceptions."""
    try:
        value: T = _decoder(model).decode(raw)
        return value
    except msgspec.ValidationError as exc:
        message, path = _split(str(exc))
        raise ValidationException(
            detail="Validation failed",
            extra=[{"message": message, "key": path or "data", "source": "body"}],
        ) from exc
    except msgspec.DecodeError as exc:
        raise ClientException(detail=f"JSON is malformed: {exc}") from exc


def _split(text: str) -> tuple[str, str]:
    match = _AT.match(text)
    if not match:
        return text, ""
    path = (match.group("path") or "").lstrip(".")
    return match.group("message"), path


class StrictBody(MsgspecDTO[T], Generic[T]):
    """A DTO that only decodes: the body into `T`, in msgspec strict mode."""

    def decode_bytes(self, value: bytes) -> Any:
        return decode_body(value, self.model_type)

    @classmethod
    def create_openapi_schema(
        cls, field_definition: FieldDefinition, handler_id: str, schema_creator: SchemaCreator
    ) -> Reference | Schema:
        """Documents the body as the Struct itself (not a generated transfer model)."""
        return schema_creator.for_field_definition(FieldDefinition.from_annotation(cls.model_type))
