"""Counting use as it happens in Chromium on a point's shared public PC: a reload within 30 s
counts once, "Kết thúc phiên" makes the next citizen a new visit and a new user, the idle reset
does the same on its own, and a robot's browsing counts nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from collection.config import Settings
from collection.db import session_scope, utcnow
from collection.models import PointKind, PointLevel, UsageDaily, UsageEvent, UsageUsers
from collection.points.service import create_point
from collection.stats import rollup
from collection.stats.periods import local_day
from tests.browsing import CHROME_109, VIEWPORT, ConsoleErrors, LiveApp, needs_chromium, shot
from tests.helpers import Api, add_pages, new_item

pytestmark = needs_chromium


@pytest.fixture
def public_pc(settings: Settings, api: Api, live_app: LiveApp) -> dict[str, Any]:
    """This machine is a public PC of the Nga Sơn library (its range holds 127.0.0.1)."""
    book = new_item(api, title="Hương ước làng Nga Thạch")
    add_pages(settings, book, ["Trang một của hương ước.", "Trang hai."])
    with session_scope(settings.sqlalchemy_url) as session:
        point = create_point(
            session=session,
            name="Thư viện huyện Nga Sơn",
            kind=PointKind.TVCC,
            level=PointLevel.DISTRICT,
            ip_ranges=["127.0.0.0/8"],
        )
        point_id = point.id
    live_app.app.state.points.forget()
    return {"book": book, "point": point_id}


@pytest.fixture
def pc(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, locale="vi-VN", user_agent=CHROME_109)
    try:
        yield context.new_page()
    finally:
        context.close()


def _rolled_up(settings: Settings, live_app: LiveApp, point: int) -> dict[str, Any]:
    live_app.app.state.usage.flush()
    today = local_day(utcnow())
    with session_scope(settings.sqlalchemy_url) as session:
        rollup.rebuild(session, today, today)
        daily = {
            r.measure: (r.measured, r.estimated)
            for r in session.scalars(select(UsageDaily).where(UsageDaily.point_id == point))
        }
        users = session.scalar(
            select(UsageUsers).where(
                UsageUsers.period == "month",
                UsageUsers.start == date(today.year, today.month, 1),
                UsageUsers.scope == f"p:{point}",
            )
        )
        events = len(list(session.scalars(select(UsageEvent))))
    return {"daily": daily, "users": (users.measured, users.estimated) if users else (0, 0),
            "events": events}  # fmt: skip


def test_end_session_makes_the_next_citizen_a_new_visit_and_user(
    pc: Page, live_app: LiveApp, settings: Settings, public_pc: dict[str, Any]
) -> None:
    errors = ConsoleErrors()
    errors.watch(pc)
    item = f"{live_app.url}/tai-lieu/{public_pc['book']}"
    pc.goto(item)
    bar = pc.get_by_role("region", name="Máy tính công cộng")
    expect(bar.get_by_role("button", name="Kết thúc phiên")).to_be_visible()
    shot(pc, "public-pc-item.png")
    pc.reload()  # within 30 seconds: COUNTER's double-click, one investigation
    bar.get_by_role("button", name="Kết thúc phiên").click()
    expect(pc).to_have_url(f"{live_app.url}/")
    pc.goto(item)  # the next citizen at the same PC
    figures = _rolled_up(settings, live_app, public_pc["point"])
    assert figures["daily"][rollup.VISITS] == (2, 0)
    assert figures["users"] == (2, 0)
    assert figures["daily"][rollup.INVESTIGATIONS] == (2, 0)  # 3 page loads, one a reload
    assert errors.messages == []


def test_the_idle_reset_ends_the_session_by_itself(
    pc: Page, live_app: LiveApp, settings: Settings, public_pc: dict[str, Any]
) -> None:
    pc.clock.install()
    pc.goto(f"{live_app.url}/tai-lieu/{public_pc['book']}")
    minutes = settings.public_pc_idle_minutes
    pc.clock.fast_forward(f"{minutes - 1:02d}:45")
    expect(pc.get_by_text("phiên sẽ kết thúc sau 30 giây")).to_be_visible()
    pc.clock.fast_forward("00:20")
    expect(pc).to_have_url(f"{live_app.url}/")
    pc.goto(f"{live_app.url}/tai-lieu/{public_pc['book']}")
    figures = _rolled_up(settings, live_app, public_pc["point"])
    assert figures["users"] == (2, 0) and figures["daily"][rollup.VISITS] == (2, 0)


def test_a_robot_counts_nothing(
    browser: Browser, live_app: LiveApp, settings: Settings, public_pc: dict[str, Any]
) -> None:
    bot = browser.new_context(
        viewport=VIEWPORT,
        user_agent="Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    )
    try:
        page = bot.new_page()
        page.goto(f"{live_app.url}/tai-lieu/{public_pc['book']}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Hương ước làng Nga Thạch")
        page.reload()
    finally:
        bot.close()
    assert _rolled_up(settings, live_app, public_pc["point"])["events"] == 0
