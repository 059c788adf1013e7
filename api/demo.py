"""A small demo ledger: a handful of cases in different towns, dispositions and stages,
recorded through the same command API the units use."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from datetime import timedelta
from uuid import UUID

from PIL import Image, ImageDraw

from api.campaign import SettableClock, campaign_start, run_campaign
from domain import commands as c
from domain.application import Liandong
from domain.uscc import with_check_character
from domain.values import Actor, Evidence, LegalBasis, OrderKind, ProblemKind, Utility

# Keeps a file in the evidence store for a unit; returns how commands cite it.
Keeper = Callable[[str, str, bytes], Evidence]


def site_photo(seed: int) -> bytes:
    """A made-up site photo (a workshop's outline on a yard): the demo's evidence."""
    image = Image.new("RGB", (960, 720), (180 + seed * 20, 176, 160))
    draw = ImageDraw.Draw(image)
    draw.rectangle((180, 260, 780, 620), fill=(120, 110, 100), outline=(40, 40, 40), width=6)
    draw.polygon(((160, 270), (480, 120), (800, 270)), fill=(90, 60, 50))
    draw.rectangle((420, 450, 540, 620), fill=(60, 50, 40))
    draw.line((620, 120, 620, 40), fill=(80, 80, 80), width=18)  # the chimney
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _elsewhere(label: str) -> Evidence:
    """Evidence a unit keeps in its own archive: cited by hash and where it is kept."""
    digest = hashlib.sha256(label.encode()).hexdigest()
    return Evidence(sha256=digest, locator=f"nas://demo/{label}.jpg", media_type="image/jpeg")


def _list(
    app: Liandong,
    town: str,
    name: str,
    serial: int | None,
    problems: list[ProblemKind],
    utilities: list[Utility],
) -> UUID:
    result = app.handle(
        Actor(unit=town, person="巡查员"),
        c.ListEnterprise(
            name=name,
            uscc=with_check_character(f"91500116MA{serial:07d}") if serial else None,
            address=f"{name} 厂址",
            town=town,
            industry="woodwork",
            licensed=serial is not None,
            connections=tuple(
                c.Connection(utility=u, account=f"{u.value}-{serial or 0}") for u in utilities
            ),
            problems=tuple(c.ProblemInput(kind=k, description=f"{k.value}") for k in problems),
        ),
    )
    return UUID(result.created["case_id"])


def load_demo(app: Liandong, keep: Keeper | None = None, campaign: int = 0) -> int:
    """Loads the demo ledger into a store with no cases; returns the events recorded.

    First a generated campaign of `campaign` enterprises over the past months (every
    stage, deadlines met and missed: api/campaign.py), then a few hand-made cases today.
    With `keep`, their photos are uploaded to the evidence store and cited by hash."""
    if app.has_cases():
        return 0
    before = app.event_count()
    if campaign:
        clock = SettableClock(campaign_start())
        today, app.clock = app.clock, clock  # the campaign's days pass on its own clock
        try:
            run_campaign(app, clock, campaign, seed=2021)
        finally:
            app.clock = today
    now = app.clock()
    deadline = now + timedelta(days=30)
    economy, town = Actor(unit="economy", person="张科长"), "town:degan"

    # 1. Listed, not yet classified.
    _list(
        app,
        "town:baisha",
        "白沙某木材加工点",
        None,
        [ProblemKind.POLLUTION_CONTROL],
        [Utility.POWER],
    )

    # 2. Rectify, suspended, waiting for the ecology sign-off.
    rectify = _list(
        app,
        town,
        "德感某家具厂",
        1001,
        [ProblemKind.NO_EIA, ProblemKind.FIRE_HAZARD],
        [Utility.POWER, Utility.WATER],
    )
    app.handle(
        economy,
        c.Classify(
            case_id=rectify,
            disposition="rectify",
            reason="可整治",
            deadline=deadline,
            document_number="江津经信〔2021〕12号",
        ),
    )
    app.handle(Actor(unit=town), c.ConcurClassification(case_id=rectify, agree=True))
    app.handle(
        Actor(unit=town),
        c.OrderSuspension(
            case_id=rectify,
            document_number="德感〔2021〕3号",
            legal_basis="《中华人民共和国大气污染防治法》第九十九条",
        ),
    )
    photos = (
        (keep(town, "喷漆工位.jpg", site_photo(0)), keep(town, "厂房全景.jpg", site_photo(1)))
        if keep is not None
        else ()
    )
    app.handle(
        Actor(unit=town, person="巡查员"),
        c.RecordProblem(
            case_id=rectify,
            kind=ProblemKind.POLLUTION_CONTROL,
            description="喷漆工位无废气收集设施",
            evidence=(*photos, _elsewhere("巡查记录表")),
        ),
    )

    # 3. Close: licence revoked, power cut ordered (pending at the power company).
    close = _list(
        app,
        "town:shuangfu",
        "双福某食品作坊",
        1002,
        [ProblemKind.FOOD_DRUG_SAFETY, ProblemKind.UNLICENSED],
        [Utility.POWER, Utility.WATER, Utility.GAS],
    )
    app.handle(
        economy,
        c.Classify(
            case_id=close,
            disposition="close",
            reason="无法整治",
            deadline=deadline,
            document_number="江津经信〔2021〕13号",
        ),
    )
    app.handle(Actor(unit="town:shuangfu"), c.ConcurClassification(case_id=close, agree=True))
    app.handle(
        Actor(unit="market"),
        c.RevokeLicence(
            case_id=close, document_number="江津市监〔2021〕7号", legal_basis="《公司登记管理条例》"
        ),
    )
    app.handle(
        economy,
        c.RequestUtilityOrder(
            case_id=close,
            utility=Utility.POWER,
            kind=OrderKind.CUT,
            grounds=LegalBasis.CLOSE_CLASSIFICATION,
            document_number="江津经信〔2021〕停电1号",
            deadline=now + timedelta(days=5),
        ),
    )

    # 4. Relocate into the Luohuang park.
    relocate = _list(
        app,
        "town:luohuang",
        "珞璜某机加工厂",
        1003,
        [ProblemKind.INDUSTRIAL_POLICY],
        [Utility.POWER],
    )
    app.handle(
        Actor(unit="town:luohuang"),
        c.Classify(
            case_id=relocate, disposition="relocate", reason="应进未进园区", deadline=deadline
        ),
    )
    app.handle(economy, c.ConcurClassification(case_id=relocate, agree=True))
    app.handle(
        economy,
        c.SetRelocationDestination(
            case_id=relocate, park="platform:luohuang-park", address="珞璜工业园区标准厂房B栋"
        ),
    )

    # 5. A 四山 control area the district office keeps.
    app.handle(
        Actor(unit="district-office"),
        c.DefineControlArea(
            name="四面山管制区", town="town:simianshan", places=("飞龙村", "洪洞村")
        ),
    )
    return app.event_count() - before
