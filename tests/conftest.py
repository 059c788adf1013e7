"""Shared fixtures. Domain tests run in memory; infrastructure fixtures (the real Kafka
broker and PostgreSQL) live in tests/infra_fixtures.py and start once per session."""

from __future__ import annotations

import os

import pytest
from hypothesis import Verbosity, settings

pytest_plugins = ["tests.infra_fixtures"]

# Random tests are reproducible: in CI (CI set) every hypothesis test is derandomized (its
# seed derived from the test's name), and a failure prints the blob that replays it.
# Elsewhere they explore afresh each run; the seed in use is in the report's header, and
# `--hypothesis-seed N` replays a run.
settings.register_profile("ci", derandomize=True, print_blob=True, database=None)
settings.register_profile("explore", print_blob=True, verbosity=Verbosity.normal)
settings.load_profile(
    os.environ.get("LIANDONG_HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "explore")
)


def pytest_report_header(config: pytest.Config) -> str:
    seed = config.getoption("hypothesis_seed", default=None)
    profile = settings._current_profile
    how = (
        "derandomized: each test's seed comes from its name"
        if profile == "ci"
        else (
            f"seed {seed}" if seed is not None else "a fresh random seed (pass --hypothesis-seed)"
        )
    )
    return f"liandong: hypothesis profile {profile!r}, {how}; fixed-seed tests print theirs"
