"""The Litestar application: app factory, lifespan, health endpoints."""
