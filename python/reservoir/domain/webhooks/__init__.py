"""Webhook endpoints (role admin): subscribe, list, update, rotate the secret, read the
delivery log, replay (`/v1/webhooks`). Delivery is ledger/webhook_delivery.py's."""
