"""The API by resource: each area has controllers, schemas (msgspec Structs) and services."""
