"""Shared fixtures. Domain tests run in memory; infrastructure fixtures (the real Kafka
broker and PostgreSQL) live in tests/infra_fixtures.py and start once per session."""

from __future__ import annotations

pytest_plugins = ["tests.infra_fixtures"]
