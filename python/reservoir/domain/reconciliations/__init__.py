"""Reconciliation with outside counts: `POST /v1/reconciliations` (JSON or CSV),
`GET /v1/reconciliations/{id}`, `POST /v1/reconciliations/{id}/apply`."""
