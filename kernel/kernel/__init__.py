"""Shared plumbing for every building block: settings, database and outbox, event bus, auth, telemetry, errors, health."""
