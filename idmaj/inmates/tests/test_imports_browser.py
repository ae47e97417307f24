"""Browser test of the import page (Playwright + the system's Chromium, ``pytest -m browser``):
an officer checks a file, reads the errors, corrects the file, then imports it, in Arabic
(right to left) and in French."""

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

from playwright.sync_api import sync_playwright  # noqa: E402

from idmaj.core.tests.factories import PASSWORD, UserFactory, grant  # noqa: E402
from idmaj.facilities.tests.factories import FacilityFactory  # noqa: E402
from idmaj.inmates.models import CustodyPeriod  # noqa: E402

from .factories import OffenceFactory, import_csv, import_row  # noqa: E402

pytestmark = pytest.mark.browser


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
            ctx = browser.new_context(locale="de-DE")
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


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_check_correct_and_import(live_server, page, tmp_path, settings, lang):
    settings.MEDIA_ROOT = tmp_path / "media"
    own = FacilityFactory(code="OUJDA2")
    OffenceFactory(code="VOL")
    user = UserFactory(username="registry.oujda2")
    grant(user, "registry_officer", facility=own)
    base = live_server.url

    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", "registry.oujda2")
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
    page.context.add_cookies([{"name": "idmaj_language", "value": lang, "url": base}])

    page.goto(f"{base}/inmates/import/")
    html = page.locator("html")
    assert html.get_attribute("lang") == lang
    assert html.get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")

    bad = tmp_path / "legacy.csv"
    bad.write_bytes(import_csv([import_row(1, birth_date="31/02/1990"), import_row(2)]))
    page.set_input_files("input[type=file]", str(bad))
    page.locator("main form.stacked button[type=submit]").click()
    page.wait_for_url(re.compile(r"/inmates/import/[0-9a-f-]{36}/$"))
    row = page.locator("main table tbody tr").first
    assert row.locator("td").nth(0).inner_text().strip() == "2"
    assert row.locator("td").nth(1).inner_text().strip() == "birth_date"
    assert "31/02/1990" in row.locator("td").nth(2).inner_text()
    assert page.locator("form[action$='/apply/']").count() == 0

    good = tmp_path / "legacy-fixed.csv"
    good.write_bytes(import_csv([import_row(1, offence_codes="VOL"), import_row(2)]))
    page.goto(f"{base}/inmates/import/")
    page.set_input_files("input[type=file]", str(good))
    page.locator("main form.stacked button[type=submit]").click()
    page.wait_for_url(re.compile(r"/inmates/import/[0-9a-f-]{36}/$"))
    assert not CustodyPeriod.objects.exists()
    page.locator("form[action$='/apply/'] button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("form[action$='/apply/']").count() == 0
    assert CustodyPeriod.objects.filter(facility=own).count() == 2
    assert page.locator(".messages .msg").count() == 1
