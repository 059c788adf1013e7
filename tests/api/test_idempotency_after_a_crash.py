"""An Idempotency-Key still answers after the API died mid-request (issue #10, finding 5).

The request's record is saved in the same event-store transaction as the command's events,
so a retry finds out whether the request was carried out even when the API died before it
could save the answer in the view store: it replays that result, and it never answers
`409 request_in_progress` for ever.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.idempotency import STALE_CLAIM_SECONDS
from domain import commands as c
from domain.application import RequestKey
from domain.uscc import with_check_character
from domain.values import Actor
from projections.db import utc_text
from tests.api.conftest import Api
from tests.api.test_bad_input import TOWN, listing


def claim_and_die(api: Api, key: str, body: dict[str, object], *, record: bool) -> None:
    """What a killed API leaves: the key claimed in the view store, and (with `record`)
    the command's events and the request's record in the event store, but no answer."""
    fingerprint = api.services.idempotency.fingerprint(
        "POST", "/cases", c.ListEnterprise.model_validate(body).model_dump_json().encode()
    )
    assert api.services.idempotency.begin(TOWN, key, fingerprint) is None
    if record:
        api.services.app.handle(
            Actor(unit=TOWN),
            c.ListEnterprise.model_validate(body),
            RequestKey(key, fingerprint, 201),
        )


def test_a_retry_after_a_crash_past_the_store_replays_the_recorded_result(api: Api) -> None:
    body = listing(uscc=with_check_character("91500116MA0005001"))
    claim_and_die(api, "crash-after-store", body, record=True)
    events = api.events
    retry = api.post(TOWN, "/cases", body, **{"Idempotency-Key": "crash-after-store"})
    assert retry.status_code == 201, retry.text
    assert retry.headers["Idempotent-Replay"] == "true"
    assert api.events == events, "the retry recorded the listing a second time"
    case_id = retry.json()["created"]["case_id"]
    assert api.services.app.case_for_uscc(str(body["uscc"])) is not None
    assert str(api.services.app.case_for_uscc(str(body["uscc"]))) == case_id
    assert retry.json()["position"] == events
    again = api.post(TOWN, "/cases", body, **{"Idempotency-Key": "crash-after-store"})
    assert again.json() == retry.json()


def test_a_claim_whose_process_died_before_storing_is_taken_over_once_stale(api: Api) -> None:
    body = listing(name="崩溃之前")
    claim_and_die(api, "crash-before-store", body, record=False)
    events = api.events
    running = api.post(TOWN, "/cases", body, **{"Idempotency-Key": "crash-before-store"})
    assert running.status_code == 409, "a fresh claim may belong to a request still running"
    assert running.json()["code"] == "request_in_progress"
    stale = utc_text(datetime.now(tz=UTC) - timedelta(seconds=STALE_CLAIM_SECONDS + 1))
    with api.services.db.transaction() as tx:
        tx.execute(
            "UPDATE idempotency_keys SET created_at = ? WHERE idem_key = ?",
            (stale, "crash-before-store"),
        )
    retry = api.post(TOWN, "/cases", body, **{"Idempotency-Key": "crash-before-store"})
    assert retry.status_code == 201, retry.text
    assert "Idempotent-Replay" not in retry.headers
    assert api.events > events
    after = api.events
    again = api.post(TOWN, "/cases", body, **{"Idempotency-Key": "crash-before-store"})
    assert again.json() == retry.json()
    assert api.events == after


def test_the_request_record_and_the_events_are_one_transaction(api: Api) -> None:
    """A second record of the same request collides in the store: nothing of it is kept."""
    body = listing(name="并发")
    claim_and_die(api, "twice", body, record=True)
    events = api.events
    fingerprint = api.services.idempotency.fingerprint(
        "POST", "/cases", c.ListEnterprise.model_validate(body).model_dump_json().encode()
    )
    import pytest

    from domain.errors import ConcurrencyConflict

    with pytest.raises(ConcurrencyConflict):
        api.services.app.handle(
            Actor(unit=TOWN),
            c.ListEnterprise.model_validate(body),
            RequestKey("twice", fingerprint, 201),
        )
    assert api.events == events
