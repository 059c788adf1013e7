"""Every unit is told (DOMAIN.md 12): what changes in an inbox, who may subscribe an
endpoint and which endpoints are refused, and how deliveries are signed and retried."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from pydantic import ValidationError

from domain.actions import Action
from domain.errors import InvalidInput, NotFound, RuleViolation
from domain.notifications import Change, item_changes
from domain.records import TaskRecord
from domain.subscriptions import Subscribe, SubscriptionState, endpoint_problem
from domain.values import Actor
from gateways.signing import development_key
from gateways.webhook_signing import public_key_text, sign_headers, verify
from gateways.webhooks import Backoff
from tests.domain.scenario import T0, TOWN, Scenario


def task(task_id: str = "t1", unit: str = "ecology", **changes: object) -> TaskRecord:
    fields: dict[str, object] = {
        "task_id": task_id,
        "unit": unit,
        "duty": "检查整改",
        "completes_on": Action.SIGN_ACCEPTANCE,
        "assigned_at": T0,
        "deadline": T0 + timedelta(days=5),
    }
    return TaskRecord.model_validate({**fields, **changes})


# ------------------------------------------------------------ what changes in an inbox


def test_a_new_open_task_opens_an_item_in_its_units_inbox() -> None:
    [change] = item_changes({}, {"t1": task()})
    assert (change.unit, change.change, change.kind.value) == (
        "ecology",
        Change.OPENED,
        "acceptance",
    )


def test_a_task_done_cancelled_or_reminded_is_told_as_such() -> None:
    before = {"t1": task(), "t2": task("t2"), "t3": task("t3")}
    after = {
        "t1": task(done_at=T0 + timedelta(days=1)),
        "t2": task("t2", cancelled_at=T0 + timedelta(days=1)),
        "t3": task("t3", reminded=("due_soon",)),
    }
    assert [(x.task.task_id, x.change) for x in item_changes(before, after)] == [
        ("t1", Change.DONE),
        ("t2", Change.CANCELLED),
        ("t3", Change.REMINDED),
    ]


def test_arbitration_tells_the_unit_that_loses_the_task_and_the_one_that_gets_it() -> None:
    changes = item_changes({"t1": task(unit="economy")}, {"t1": task(unit="planning")})
    assert [(x.unit, x.change) for x in changes] == [
        ("economy", Change.REASSIGNED),
        ("planning", Change.OPENED),
    ]


def test_an_unchanged_task_tells_nothing() -> None:
    assert item_changes({"t1": task()}, {"t1": task()}) == []


def test_a_task_given_another_deadline_is_told_changed() -> None:
    later = task(deadline=T0 + timedelta(days=6))
    [change] = item_changes({"t1": task()}, {"t1": later})
    assert (change.unit, change.change) == ("ecology", Change.CHANGED)


def test_a_task_opened_and_done_between_two_looks_is_told_done() -> None:
    [change] = item_changes({}, {"t1": task(done_at=T0)})
    assert change.change is Change.DONE


# ------------------------------------------------------------ endpoints


@pytest.mark.parametrize(
    "url",
    [
        "http://receiver.example.cn/hook",  # not https
        "https://localhost/hook",
        "https://api.localhost/hook",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://172.16.0.9/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data",  # a cloud's metadata service
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://0.0.0.0/hook",
        "https://user:secret@receiver.example.cn/hook",
        "https://receiver.example.cn/hook#x",
        "ftp://receiver.example.cn/hook",
        "receiver.example.cn/hook",
        "https://receiver.example.cn:99999/hook",
    ],
)
def test_an_endpoint_liandong_must_not_post_to_is_refused(url: str) -> None:
    assert endpoint_problem(url, allow_private=False, allow_http=False)


def test_a_public_https_endpoint_is_accepted_and_tests_may_allow_loopback_over_http() -> None:
    assert (
        endpoint_problem(
            "https://hook.example.cn:8443/a?b=c", allow_private=False, allow_http=False
        )
        is None
    )
    assert (
        endpoint_problem("https://202.98.1.2/hook", allow_private=False, allow_http=False) is None
    )
    assert endpoint_problem("http://127.0.0.1:9/hook", allow_private=True, allow_http=True) is None


# ------------------------------------------------------------ subscriptions


def test_a_unit_subscribes_pauses_resumes_and_deletes_its_own_endpoint(s: Scenario) -> None:
    ecology = Actor(unit="ecology", person="王")
    result = s.app.subscribe(ecology, Subscribe(url="https://hook.example.cn/ecology"))
    sid = result.aggregate_id
    assert s.app.subscription("ecology", sid).state is SubscriptionState.ACTIVE
    s.app.change_subscription(ecology, sid, "pause")
    assert s.app.subscription("ecology", sid).state is SubscriptionState.PAUSED
    with pytest.raises(RuleViolation):
        s.app.change_subscription(ecology, sid, "pause")
    s.app.change_subscription(ecology, sid, "resume")
    s.app.change_subscription(ecology, sid, "delete")
    assert s.app.subscription("ecology", sid).state is SubscriptionState.DELETED
    with pytest.raises(RuleViolation):
        s.app.change_subscription(ecology, sid, "resume")


def test_another_units_subscription_looks_as_if_it_did_not_exist(s: Scenario) -> None:
    sid = s.app.subscribe(
        Actor(unit="ecology"), Subscribe(url="https://hook.example.cn/e")
    ).aggregate_id
    for unit in ("economy", "district-office", TOWN):
        with pytest.raises(NotFound):
            s.app.subscription(unit, sid)
        with pytest.raises(NotFound):
            s.app.change_subscription(Actor(unit=unit), sid, "delete")
    assert s.app.subscription("ecology", sid).state is SubscriptionState.ACTIVE


def test_a_refused_endpoint_records_nothing(s: Scenario) -> None:
    before = s.app.event_count()
    with pytest.raises(InvalidInput) as refused:
        s.app.subscribe(Actor(unit="ecology"), Subscribe(url="https://127.0.0.1/x"))
    assert refused.value.field == "url"
    assert s.app.event_count() == before


@pytest.mark.parametrize(
    "body",
    [
        {"url": ""},
        {"url": "https://hook.example.cn/\x00"},
        {"url": "https://hook.example.cn/" + "a" * 2100},
        {"url": "https://hook.example.cn/", "kinds": []},
        {"url": "https://hook.example.cn/", "kinds": ["task", "task"]},
        {"url": "https://hook.example.cn/", "kinds": ["everything"]},
        {"url": 7},
        {"url": "https://hook.example.cn/", "description": "x" * 201},
    ],
)
def test_a_malformed_subscription_is_refused_naming_the_field(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as refused:
        Subscribe.model_validate(body)
    assert {e["loc"][0] for e in refused.value.errors()} <= set(body)


# ------------------------------------------------------------ signatures and retries


def test_a_delivery_signed_with_the_district_key_verifies_and_nothing_else_does() -> None:
    key = development_key("webhooks")
    public = public_key_text(key.public())
    body = b'{"change":"opened"}'
    headers = sign_headers(key, "case/3/t1/ecology/opened", body, timestamp=1_700_000_000)
    assert verify(public, headers, body, now=1_700_000_010)
    assert not verify(public, headers, body + b" ", now=1_700_000_010)
    assert not verify(public, {**headers, "webhook-id": "other"}, body, now=1_700_000_010)
    assert not verify(public, headers, body, now=1_700_000_000 + 3600)  # replayed late
    forged = sign_headers(development_key("power"), "case/3/t1/ecology/opened", body, 1_700_000_000)
    assert not verify(public, forged, body, now=1_700_000_010)
    rotated = {
        **headers,
        "webhook-signature": f"{forged['webhook-signature']} {headers['webhook-signature']}",
    }
    assert verify(public, rotated, body, now=1_700_000_010)


def test_backoff_grows_exponentially_within_its_jitter_and_cap() -> None:
    backoff, rng = Backoff(base_seconds=1, cap_seconds=60, max_attempts=8), random.Random(7)
    for attempts in range(1, 12):
        full = min(60, 2 ** (attempts - 1))
        delays = [backoff.delay(attempts, rng) for _ in range(50)]
        assert all(full / 2 <= d <= full for d in delays)
        assert len(set(delays)) > 1, "jittered"
