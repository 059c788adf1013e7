"""An audit entry made ahead in a feed process hashes exactly as the entry an offline
verifier rebuilds from an export: the chain does not depend on where it was made."""

from __future__ import annotations

import orjson
import pytest

from bench.bench_projections import base_events
from projections.audit import (
    FIELDS,
    GENESIS,
    canonical,
    chained,
    entry_hash,
    entry_parts,
    make_entry,
    prepare,
)

EVENTS = base_events(2)  # every event of two cases taken from listing to struck off


def test_an_entry_has_exactly_the_chained_fields_in_order() -> None:
    name, data = EVENTS[0]
    assert tuple(make_entry(1, 1, name, data)) == FIELDS


@pytest.mark.parametrize(("name", "data"), EVENTS, ids=[name for name, _ in EVENTS])
def test_an_entry_prepared_in_a_feed_chains_to_the_verifiers_hash(
    name: str, data: dict[str, object]
) -> None:
    raw = orjson.dumps(data)
    prev = entry_hash(GENESIS, make_entry(1, 1, "Earlier", {**data, "note": "x"}))
    row, digest = chained(4321, prev, prepare(name, 77, raw))
    expected = make_entry(4321, 77, name, data)
    assert digest == entry_hash(prev, expected)
    assert canonical(expected).startswith(b'{"seq":4321,')
    assert row[:2] == (4321, 77)
    assert row[-2:] == (prev, digest)
    assert orjson.loads(row[13]) == data, "the payload column is the event as published"
    assert chained(4321, prev, entry_parts(name, 77, data, raw)) == (row, digest)


def test_another_place_in_the_chain_gives_another_hash() -> None:
    name, data = EVENTS[3]
    parts = prepare(name, 5, orjson.dumps(data))
    assert chained(5, GENESIS, parts)[1] != chained(6, GENESIS, parts)[1]
    assert chained(5, GENESIS, parts)[1] != chained(5, "f" * 64, parts)[1]
