"""Waitlists: `POST /v1/waitlists/{sku}/entries`, `GET /v1/waitlists/{sku}`,
`GET/DELETE /v1/waitlist-entries/{id}`, and `"waitlist": true` on a refused hold."""
