"""Browser tests: Playwright driving the system's Chromium against ``live_server``.

Deselected by default (``-m "not browser"`` in pyproject's addopts) so that a plain ``pytest``
needs no browser; ``.ci/run`` runs them with ``pytest -m browser`` and
``IDMAJ_REQUIRE_BROWSER=1``, which turns a missing Chromium into a failure instead of a skip.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("IDMAJ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if not Path(CHROMIUM).exists():
    if os.environ.get("IDMAJ_REQUIRE_BROWSER"):
        raise RuntimeError(f"IDMAJ_REQUIRE_BROWSER is set but {CHROMIUM} is missing")
    pytest.skip(f"{CHROMIUM} not installed", allow_module_level=True)

from django.utils import translation  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402

from idmaj.core.tests.factories import PASSWORD, UserFactory, grant  # noqa: E402
from idmaj.facilities.tests.factories import (  # noqa: E402
    FacilityFactory,
    StatusPeriodFactory,
)

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API keeps an event loop running in this thread; the test code's own
    # ORM calls (fixtures, assertions) are synchronous and safe, but Django refuses them unless
    # told. Set only while the browser runs: a process-wide setting would leak into other
    # tests (``check --deploy`` rejects it).
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
def new_page(browser, request):
    """Open pages in fresh browser contexts (no cookies); screenshot them on failure."""
    contexts = []

    def make() -> Page:
        # A browser language idmaj does not offer: the site's default (Arabic) applies.
        ctx = browser.new_context(locale="de-DE", extra_http_headers={"Accept-Language": "de"})
        ctx.set_default_timeout(TIMEOUT_MS)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for i, ctx in enumerate(contexts):
        if failed:
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
def site(transactional_db):
    """Two institutions and a registry officer of the first one (roles as data first)."""
    from idmaj.core.services import roles_sync

    roles_sync()
    own = FacilityFactory(code="OUJDA2", name_fr="Prison locale Oujda 2")
    other = FacilityFactory(code="BERKANE2", name_fr="Prison locale Berkane 2")
    for fac in (own, other):  # as facility_create records it: operating since a date
        StatusPeriodFactory(facility=fac)
    user = UserFactory(username="registry.oujda2")
    grant(user, "registry_officer", facility=own)
    return {"own": own, "other": other, "user": user}


def _html_attrs(page: Page) -> tuple[str | None, str | None]:
    html = page.locator("html")
    return html.get_attribute("lang"), html.get_attribute("dir")


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))


def sign_out(page: Page) -> None:
    page.locator("form[action$='/accounts/logout/'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))


def _dashboard(lang: str) -> str:
    with translation.override(lang):
        return translation.gettext("Dashboard")


def test_sign_in_in_arabic_shows_rtl_dashboard(live_server, site, new_page):
    page = new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    assert _html_attrs(page) == ("ar", "rtl")
    sign_in(page, live_server.url, "registry.oujda2")
    assert _html_attrs(page) == ("ar", "rtl")
    assert page.locator("main h1").first.inner_text().strip() == _dashboard("ar")
    # the language switcher marks Arabic as the current language
    assert page.locator("button[data-lang=ar]").get_attribute("aria-current") == "true"
    # the stylesheet is served and the layout runs right to left: the brand stands at the
    # right-hand end of the top bar, the tools at its left
    bg = page.locator("header.topbar").evaluate("e => getComputedStyle(e).backgroundColor")
    assert bg == "rgb(11, 93, 75)"
    brand = page.locator("header.topbar .brand").bounding_box()
    tools = page.locator("header.topbar .topbar-tools").bounding_box()
    assert brand["x"] > tools["x"]


def test_switch_to_french_is_remembered_after_signing_in_again(live_server, site, new_page):
    page = new_page()
    sign_in(page, live_server.url, "registry.oujda2")
    assert _html_attrs(page) == ("ar", "rtl")

    page.locator("button[data-lang=fr]").click()
    page.wait_for_function("document.documentElement.lang === 'fr'")
    assert _html_attrs(page) == ("fr", "ltr")
    assert page.locator("main h1").first.inner_text().strip() == _dashboard("fr")

    # same browser: signed out and back in, still French
    sign_out(page)
    assert _html_attrs(page) == ("fr", "ltr")
    sign_in(page, live_server.url, "registry.oujda2")
    assert _html_attrs(page) == ("fr", "ltr")

    # another browser (no language cookie): the choice was kept on the account
    site["user"].refresh_from_db()
    assert site["user"].preferred_language == "fr"
    other = new_page()
    other.goto(f"{live_server.url}/accounts/login/")
    assert _html_attrs(other) == ("ar", "rtl")
    sign_in(other, live_server.url, "registry.oujda2")
    other.goto(f"{live_server.url}/")
    assert _html_attrs(other) == ("fr", "ltr")


def test_other_institution_answers_404_own_opens(live_server, site, new_page):
    page = new_page()
    sign_in(page, live_server.url, "registry.oujda2")

    own = page.goto(f"{live_server.url}/facilities/OUJDA2/")
    assert own is not None and own.status == 200
    assert "OUJDA2" in page.content() or site["own"].name_ar in page.content()

    other = page.goto(f"{live_server.url}/facilities/BERKANE2/")
    assert other is not None and other.status == 404
    body = page.content()
    assert "BERKANE2" not in body and site["other"].name_ar not in body
