"""Browser test of the gate (Playwright + the system's Chromium, ``pytest -m browser``): the
officer types a booking code as read out (lower case, dashes, O for 0), checks the visitor's
identity card (a wrong one first), records the arrival, start and end (htmx updates in
place), in Arabic (right to left) and in French."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("IDMAJ_CHROMIUM", "/usr/bin/chromium")
if not Path(CHROMIUM).exists():
    if os.environ.get("IDMAJ_REQUIRE_BROWSER"):
        raise RuntimeError(f"IDMAJ_REQUIRE_BROWSER is set but {CHROMIUM} is missing")
    pytest.skip(f"{CHROMIUM} not installed", allow_module_level=True)

from django.utils import translation  # noqa: E402
from django.utils.translation import gettext  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from idmaj.core.tests.factories import PASSWORD  # noqa: E402

from ..constants import BookingStatus  # noqa: E402
from ..models import Booking  # noqa: E402
from .factories import visit_scenario  # noqa: E402
from .gate_fixtures import make_booking, today_session  # noqa: E402

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("IDMAJ_SCREENSHOTS")


@pytest.fixture
def page(transactional_db):
    from idmaj.core.services import roles_sync

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            ctx = browser.new_context(viewport={"width": 1100, "height": 900})
            ctx.set_default_timeout(20_000)
            roles_sync()
            yield ctx.new_page()
            ctx.close()
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _shot(page, name):
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_check_in_by_code(live_server, page, lang):
    vs = visit_scenario()
    booking = make_booking(vs, today_session(vs), code="0B1T2Q3R4S")
    base = live_server.url

    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", vs.officer.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
    page.context.add_cookies([{"name": "idmaj_language", "value": lang, "url": base}])

    page.goto(f"{base}/visits/today/")
    page.wait_for_url(re.compile(rf"/visits/today/{vs.facility.code}/$"))
    html = page.locator("html")
    assert html.get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
    assert page.locator("main").get_by_text(booking.code).count() == 1
    # the scan button is offered only where the browser reads QR codes; typing always works
    reads_qr = page.evaluate(
        "async () => 'BarcodeDetector' in window"
        " && (await BarcodeDetector.getSupportedFormats()).includes('qr_code')"
    )
    page.wait_for_timeout(100)
    assert page.locator("#gate-scan").is_visible() == reads_qr
    _shot(page, f"gate-today-{lang}")

    page.fill("input[name=code]", "ob-it-2q-3r-4s")
    page.locator("#gate-code-form button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/visits/gate/bookings/{booking.uuid}/$"))

    with translation.override(lang):
        mismatch = gettext(
            "This identity card is not that of an adult visitor named on the booking."
        )
    page.fill("input[name=cin]", "ZZ000000")
    page.locator("#checkin form.stacked button[type=submit]").click()
    page.get_by_text(mismatch).wait_for()
    page.fill("input[name=cin]", vs.adult.cin.lower())
    page.locator("#checkin form.stacked button[type=submit]").click()
    arrive = page.locator(f"form[action$='/gate/bookings/{booking.uuid}/arrive/'] button")
    arrive.wait_for()
    _shot(page, f"gate-checkin-{lang}")
    arrive.click()
    page.locator("form[action$='/start/'] button").click()
    page.locator("form[action$='/end/'] button").click()
    page.locator("form[action$='/end/']").wait_for(state="detached")
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.COMPLETED
    _shot(page, f"gate-done-{lang}")
