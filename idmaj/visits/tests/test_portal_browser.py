"""End-to-end browser test of the family portal (Playwright + the system's Chromium,
``pytest -m browser``), on a phone-sized screen in Arabic (right to left):

1. a family member registers (CIN, names, mobile phone, password), types the code received by
   SMS and is signed in;
2. asks to be put on a prisoner's visitor list (committal number, prisoner's name,
   relationship, a PDF document) and sees the request pending;
3. the visits officer (another browser, desktop size) opens the queue and approves it;
4. the family sees where the prisoner is held, books a session in the booking window, sees the
   booking code and its QR code; the confirmation SMS carries the code;
5. on the day of the visit the officer at the gate types the code, checks the visitor's
   identity card and records the arrival.

Phone screenshots of the portal (home, booking page, booking) in Arabic and French are written
to ``$IDMAJ_DATA_DIR/shots/`` (or ``$IDMAJ_SCREENSHOTS``); on failure, every open page is
written to ``$IDMAJ_DATA_DIR/browser-failures/``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("IDMAJ_CHROMIUM", "/usr/bin/chromium")
if not Path(CHROMIUM).exists():
    if os.environ.get("IDMAJ_REQUIRE_BROWSER"):
        raise RuntimeError(f"IDMAJ_REQUIRE_BROWSER is set but {CHROMIUM} is missing")
    pytest.skip(f"{CHROMIUM} not installed", allow_module_level=True)

from django.utils import timezone, translation  # noqa: E402
from django.utils.translation import gettext  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402

from idmaj.core.tests.factories import PASSWORD  # noqa: E402

from ..constants import BookingStatus, RequestStatus, VisitorStatus  # noqa: E402
from ..models import Booking, FamilyAccount, VisitorRequest, VisitSession  # noqa: E402
from .accounts_fixtures import NEW_PASSWORD, last_code, sms_outbox  # noqa: E402
from .factories import visit_scenario  # noqa: E402

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
# A small, well-formed one-page PDF (what a scanned family record book would be).
PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _shots_dir() -> Path:
    base = os.environ.get("IDMAJ_SCREENSHOTS") or (
        Path(os.environ.get("IDMAJ_DATA_DIR", "var")) / "shots"
    )
    out = Path(base)
    out.mkdir(parents=True, exist_ok=True)
    return out


def _t(lang: str, text: str) -> str:
    with translation.override(lang):
        return gettext(text)


@pytest.fixture
def browser(transactional_db):
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # synchronous and safe, but Django refuses them unless told (only while the browser runs).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield b
            b.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_context(browser, request):
    """Fresh browser contexts (no cookies); every page is screenshot if the test fails."""
    contexts = []

    def make(**kw):
        ctx = browser.new_context(**kw)
        ctx.set_default_timeout(TIMEOUT_MS)
        contexts.append(ctx)
        return ctx

    outcome = {"failed": True}
    yield make, outcome
    for i, ctx in enumerate(contexts):
        if outcome["failed"]:
            out = Path(os.environ.get("IDMAJ_DATA_DIR", "var")) / "browser-failures"
            out.mkdir(parents=True, exist_ok=True)
            for j, pg in enumerate(ctx.pages):
                try:
                    pg.screenshot(
                        path=str(out / f"{request.node.name}-{i}-{j}.png"), full_page=True
                    )
                except Exception:  # noqa: BLE001 - best effort only
                    pass
        ctx.close()


@pytest.fixture
def scenario(transactional_db, settings, tmp_path):
    from idmaj.core.services import roles_sync

    settings.MEDIA_ROOT = tmp_path / "media"  # the uploaded document stays with the test
    roles_sync()
    vs = visit_scenario()
    # Sessions at 3, 4, 5 and 10 days from today; the default window is 2..28 days ahead.
    assert vs.policy.online_booking
    assert vs.policy.book_until_days <= 3 <= vs.policy.book_from_days
    return vs


def _assert_arabic(page: Page) -> None:
    html = page.locator("html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl")


def _no_horizontal_overflow(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url}: {width}px wide"


def _tabs_in_view(page: Page) -> None:
    """Every tab of the portal's navigation is on the screen (none pushed out of sight)."""
    width = page.viewport_size["width"]
    tabs = page.locator(".portal-nav a")
    assert tabs.count() == 3
    for i in range(3):
        box = tabs.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (page.url, i, box)


def _shoot(page: Page, name: str) -> None:
    page.screenshot(path=str(_shots_dir() / f"{name}.png"), full_page=True)


def _staff_sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))


def test_family_registers_asks_books_and_arrives(live_server, scenario, new_context):
    make_context, outcome = new_context
    vs = scenario
    base = live_server.url
    person = vs.custody.person
    phone_ctx = make_context(**PHONE, locale="ar-MA", extra_http_headers={"Accept-Language": "ar"})
    family = phone_ctx.new_page()

    # 1. register, read the code from the SMS outbox, verify the phone: signed in
    family.goto(f"{base}/family/register/")
    _assert_arabic(family)
    _no_horizontal_overflow(family)
    family.fill("input[name=cin]", "ab 765432")
    family.fill("input[name=first_name]", "خديجة")
    family.fill("input[name=family_name]", "العلوي")
    family.fill("input[name=phone]", "06 61 23 45 67")
    family.fill("input[name=password]", NEW_PASSWORD)
    family.fill("input[name=password2]", NEW_PASSWORD)
    family.locator("main form button[type=submit]").click()
    family.wait_for_url(re.compile(r"/family/verify/$"))
    _assert_arabic(family)
    account = FamilyAccount.objects.get(cin="AB765432")
    assert account.phone == "+212661234567"
    assert account.phone_verified_at is None
    family.fill("input[name=code]", last_code(account.phone))
    family.locator("main form.portal-form button[type=submit]").click()
    family.wait_for_url(re.compile(r"/family/$"))
    _assert_arabic(family)
    account.refresh_from_db()
    assert account.phone_verified_at is not None
    assert account.language == "ar"
    assert family.locator(".portal-footer").get_by_text(account.full_name).count() == 1

    # 2. ask to be put on the prisoner's list, with a PDF: the request is pending
    family.locator("main a[href$='/family/requests/new/']").click()
    family.wait_for_url(re.compile(r"/family/requests/new/$"))
    _no_horizontal_overflow(family)
    family.fill("input[name=committal_number]", vs.custody.committal_number.lower())
    family.fill("input[name=prisoner_name]", f"{person.first_name_ar} {person.family_name_ar}")
    family.select_option("select[name=relationship]", "sibling")
    family.select_option("select[name=document_kind]", "family_record")
    family.set_input_files(
        "input[name=document]",
        files=[{"name": "livret.pdf", "mimeType": "application/pdf", "buffer": PDF}],
    )
    family.locator("main form button[type=submit]").last.click()
    family.wait_for_url(re.compile(r"/family/$"))
    req = VisitorRequest.objects.get(account=account)
    assert req.status == RequestStatus.PENDING
    assert req.detention_id == vs.custody.detention_id
    assert req.document_type == "application/pdf"
    with req.document.open("rb") as fh:
        assert fh.read() == PDF
    with translation.override("ar"):
        pending = str(RequestStatus.PENDING.label)
    card = family.locator("main .portal-card", has_text=vs.custody.committal_number)
    assert card.locator(".badge").inner_text().strip() == pending
    assert family.locator(f"form[action$='/requests/{req.uuid}/withdraw/']").count() == 1

    # 3. the visits officer approves it (desktop browser)
    office = make_context(viewport={"width": 1280, "height": 900}).new_page()
    _staff_sign_in(office, base, vs.officer.username)
    office.goto(f"{base}/visits/requests/")
    office.locator(f"a[href$='/visits/requests/{req.uuid}/']").click()
    office.wait_for_url(re.compile(rf"/visits/requests/{req.uuid}/$"))
    assert office.locator("main").get_by_text(account.cin).count() >= 1
    office.locator(f"form[action$='/requests/{req.uuid}/approve/'] button[type=submit]").click()
    office.wait_for_url(re.compile(rf"/visits/requests/{req.uuid}/$"))
    office.get_by_text(
        _t("ar", "The request was approved: the visitors are on the list.")
    ).wait_for()
    req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED
    mine = req.visitors.get(account=account)
    assert mine.status == VisitorStatus.APPROVED

    # 4. the family sees where the prisoner is held and books a session
    family.goto(f"{base}/family/")
    _assert_arabic(family)
    prisoner_card = family.locator(f"main section[aria-labelledby='p-{mine.uuid}']")
    assert vs.facility.name in prisoner_card.inner_text()
    _no_horizontal_overflow(family)
    _tabs_in_view(family)
    _shoot(family, "portal-home-ar")
    prisoner_card.locator(f"a[href$='/family/prisoners/{mine.uuid}/']").first.click()
    family.wait_for_url(re.compile(rf"/family/prisoners/{mine.uuid}/$"))
    where = family.locator("main section[aria-labelledby=where]")
    assert vs.facility.name in where.inner_text()
    assert vs.custody.committal_number in where.inner_text()
    where.locator(f"a[href$='/family/prisoners/{mine.uuid}/book/']").click()
    family.wait_for_url(re.compile(rf"/family/prisoners/{mine.uuid}/book/$"))
    _assert_arabic(family)
    _no_horizontal_overflow(family)
    _shoot(family, "portal-book-ar")
    session = vs.sessions[0]  # three days from today: inside the window
    family.locator(f"input[name=session][value='{session.uuid}']").check()
    assert family.locator(f"input[name=visitors][value='{mine.uuid}']").is_checked()
    family.locator("main form.portal-form button[type=submit]").click()
    family.wait_for_url(re.compile(r"/family/visits/[0-9a-f-]{36}/$"))
    booking = Booking.objects.get(account=account)
    assert booking.session_id == session.pk
    assert booking.status == BookingStatus.BOOKED
    assert family.url.endswith(f"/family/visits/{booking.uuid}/")
    _assert_arabic(family)
    assert booking.code in family.locator("main").inner_text()
    qr = family.locator("main svg")
    assert qr.count() == 1 and qr.bounding_box()["width"] > 100
    _no_horizontal_overflow(family)
    _shoot(family, "portal-booking-ar")
    texts = [m["text"] for m in sms_outbox() if m["to"] == account.phone]
    assert any(booking.code in t for t in texts[1:]), texts  # after the verification code

    # the same three pages in French, for the screenshots
    phone_ctx.add_cookies([{"name": "idmaj_language", "value": "fr", "url": base}])
    for path, name in (
        ("/family/", "portal-home-fr"),
        (f"/family/prisoners/{mine.uuid}/book/", "portal-book-fr"),
        (f"/family/visits/{booking.uuid}/", "portal-booking-fr"),
    ):
        family.goto(f"{base}{path}")
        assert family.locator("html").get_attribute("dir") == "ltr"
        _no_horizontal_overflow(family)
        _tabs_in_view(family)
        _shoot(family, name)

    # 5. the day of the visit comes (the session is moved to today, from midnight so that
    # every step is possible whatever the hour); the officer at the gate finds the booking by
    # its code, checks the identity card and records the arrival
    today = timezone.localdate()
    tz = timezone.get_current_timezone()
    VisitSession.objects.filter(pk=session.pk).update(
        date=today,
        starts_at=dt.datetime.combine(today, dt.time(0, 0), tzinfo=tz),
        ends_at=dt.datetime.combine(today, dt.time(23, 59), tzinfo=tz),
    )
    office.goto(f"{base}/visits/today/")
    office.wait_for_url(re.compile(rf"/visits/today/{vs.facility.code}/$"))
    _assert_arabic(office)
    assert office.locator("main").get_by_text(booking.code).count() == 1
    office.fill("input[name=code]", booking.code.lower())
    office.locator("#gate-code-form button[type=submit]").click()
    office.wait_for_url(re.compile(rf"/visits/gate/bookings/{booking.uuid}/$"))
    office.fill("input[name=cin]", "ab765432")
    office.locator("#checkin form.stacked button[type=submit]").click()
    arrive = office.locator(f"form[action$='/gate/bookings/{booking.uuid}/arrive/'] button")
    arrive.click()
    with translation.override("ar"):
        arrived = str(BookingStatus.ARRIVED.label)
    office.locator("#checkin .badge", has_text=arrived).wait_for()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.ARRIVED
    assert booking.arrived_at is not None
    assert booking.visitors.get(visitor=mine).checked_at is not None

    outcome["failed"] = False
