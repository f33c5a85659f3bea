"""Sales channels: `PUT/GET /v1/channels/{code}`, `GET /v1/channels`."""
