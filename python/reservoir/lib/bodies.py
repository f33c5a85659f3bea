"""Strict JSON request bodies.

Litestar converts bodies in msgspec's lax mode, which accepts `"5"` for an int and `1` for a
bool. The contract wants integers to be integers, so write-endpoints decode their body with
`StrictBody[Model]` instead: a DTO that decodes the raw bytes straight into the Struct with
msgspec in strict mode (one cached decoder per type; also the fastest path there is).

    @put("/v1/items/{sku:path}", dto=StrictBody[ItemIn], return_dto=None)
    async def put_item(self, data: ItemIn) -> ...

Errors come out as Litestar `ValidationException`s / `ClientException`s, which the one
exception handler turns into problems naming the field: 400 for a wrong type or shape, 422
for an integer out of its bounds (lib/bounds.py).

Before decoding, the body's nesting depth is bounded (`DEPTH_MAX`): deeper JSON is 422
`nesting-too-deep` naming `body`, so no decoder recurses a thousand levels. The check is
cheap: a body with fewer brackets than the bound cannot be too deep, and only one with
more is scanned exactly (brackets inside strings do not count).
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import msgspec
from litestar.dto import MsgspecDTO
from litestar.exceptions import ClientException, ValidationException
from litestar.typing import FieldDefinition

from reservoir.lib.errors import ProblemError

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.openapi.spec import Reference, Schema

T = TypeVar("T", bound=msgspec.Struct)

_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)

# Deepest nesting of arrays and objects a body may have.
DEPTH_MAX = 32
# Every byte but brackets deleted, and `{}` read as `[]` (only the depth matters).
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


@cache
def _decoder(model: type[Any]) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(model)


def decode_body(raw: bytes, model: type[T]) -> T:
    """Decodes `raw` into `model`, strictly; raises 400-mapped Litestar exceptions (422 for
    an integer out of bounds, or a body nested too deep)."""
    if raw.count(b"[") + raw.count(b"{") > DEPTH_MAX and nested_deeper(raw, DEPTH_MAX):
        raise too_deep()
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


def nested_deeper(raw: bytes, depth_max: int) -> bool:
    """Whether `raw` nests arrays and objects deeper than `depth_max`, not counting brackets
    inside strings. Only bytes operations, no loop per byte: escapes are dropped (a run of
    backslashes pairs up from its left, as JSON reads it), then the strings (every other
    piece between quotes), then all but the brackets. Each pass of removing `[]` then
    strips one level, so the nesting is deeper than `depth_max` exactly when that many
    passes leave brackets. Malformed JSON that stops shrinking is left to the decoder."""
    unescaped = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = b"".join(unescaped.split(b'"')[::2])
    skeleton = outside.translate(_BRACKETS, _NOT_BRACKETS)
    for _ in range(depth_max):
        stripped = skeleton.replace(b"[]", b"")
        if not stripped or stripped == skeleton:
            return False
        skeleton = stripped
    return bool(skeleton)


def too_deep() -> ProblemError:
    return ProblemError(
        422,
        "nesting-too-deep",
        "JSON nested too deep",
        f"The body nests arrays and objects deeper than {DEPTH_MAX} levels.",
        field="body",
        depth_max=DEPTH_MAX,
    )


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
