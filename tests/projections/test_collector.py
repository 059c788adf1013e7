"""A process that applies events in bulk collects garbage less often, but still does."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from projections.collector import THRESHOLDS, collect_less_often


@pytest.fixture
def bulk_process() -> Iterator[None]:
    before = gc.get_threshold()
    collect_less_often()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_the_young_generation_is_collected_after_fifty_thousand_allocations(
    bulk_process: None,
) -> None:
    assert gc.get_threshold() == THRESHOLDS
    assert gc.get_freeze_count() > 0  # what the process made at start is left out


def test_a_cycle_is_still_freed_without_anyone_asking(bulk_process: None) -> None:
    cycle = weakref.ref(Node())
    assert cycle() is not None
    kept: list[list[int]] = [
        [] for _ in range(THRESHOLDS[0] * 2)
    ]  # containers enough for a collection
    assert cycle() is None
    assert len(kept) == THRESHOLDS[0] * 2
