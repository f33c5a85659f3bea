"""Platform building blocks shared by every part of the service: settings, errors, auth, metrics."""
