"""The view store's SQL adapter."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from projections.db import Database


def test_each_in_memory_view_store_is_its_own_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first, second = Database("sqlite:///:memory:"), Database("sqlite:///:memory:")
    with first.transaction() as tx:
        tx.execute("CREATE TABLE t (x INTEGER)")
    assert second.query("SELECT name FROM sqlite_master WHERE name = 't'") == []
    assert not any(":memory:" in name for name in os.listdir(tmp_path))
    assert not Path("/:memory:").exists()
