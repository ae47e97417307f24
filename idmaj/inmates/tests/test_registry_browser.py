"""Browser tests of the inmate registry's main flows (Playwright + the system's Chromium,
``pytest -m browser``), as the registry officer of one institution:

1. admission in Arabic (right to left): search first, a form error (a malformed identity
   card number) shown next to its field with what was typed kept, the likely duplicate on
   file (names and date of birth) either linked or confirmed as a new person, the custody
   page with its committal number;
2. housing: a cell allocated; refusals (the cell filled meanwhile, a wing of the other sex)
   show the rule that refuses them, and nothing changes;
3. transfer to another institution, in French: the sending officer gets 404 on the new
   file, the receiving officer opens it;
4. release with the checklist (an incomplete one refused first), then the release
   certificate links answer a PDF.

On failure, every open page is written to ``$IDMAJ_DATA_DIR/browser-failures/``.
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
from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from idmaj.core.tests.factories import PASSWORD, UserFactory, grant  # noqa: E402
from idmaj.facilities.constants import Regime, Sex  # noqa: E402
from idmaj.facilities.tests.factories import FacilityFactory, StatusPeriodFactory  # noqa: E402

from ..constants import (  # noqa: E402
    CustodyStatus,
    DetentionEnd,
    LegalStatus,
    PersonSex,
    PropertyStatus,
)
from ..models import CellAssignment, CustodyPeriod, Person, PropertyItem  # noqa: E402
from ..services import RELEASE_CHECKLIST  # noqa: E402
from ..services.housing import housing_breaches  # noqa: E402
from .factories import (  # noqa: E402
    CustodyPeriodFactory,
    OffenceFactory,
    PersonFactory,
    PropertyItemFactory,
)
from .housing_fixtures import adult_birth, cell, counter, place, wing  # noqa: E402

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
BIRTH = dt.date(1988, 3, 14)


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
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
def new_page(browser, request):
    """Pages in fresh browser contexts (no cookies, a browser language idmaj does not offer:
    the site's default, Arabic, applies); every page is screenshot if the test fails."""
    contexts = []
    failed_before = request.session.testsfailed

    def make() -> Page:
        ctx = browser.new_context(locale="de-DE", extra_http_headers={"Accept-Language": "de"})
        ctx.set_default_timeout(TIMEOUT_MS)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    # The call phase's report is logged before the teardown runs.
    failed = request.session.testsfailed > failed_before
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
def world(transactional_db, settings, tmp_path):
    """Two operating institutions with a registry officer each (roles as data first),
    offences, and in the first one a men's remand wing (cells R1: one place, R2: two) and a
    women's wing (cell F1)."""
    from idmaj.core.services import roles_sync

    settings.MEDIA_ROOT = tmp_path / "media"
    roles_sync()
    own = FacilityFactory(
        code="OUJDA2", name_fr="Prison locale Oujda 2", name_ar="السجن المحلي وجدة 2"
    )
    other = FacilityFactory(
        code="BERKANE2", name_fr="Prison locale Berkane 2", name_ar="السجن المحلي بركان 2"
    )
    for fac in (own, other):  # as facility_create records it: operating since a date
        StatusPeriodFactory(facility=fac)
    officer = UserFactory(username="registry.oujda2")
    grant(officer, "registry_officer", facility=own)
    receiver = UserFactory(username="registry.berkane2")
    grant(receiver, "registry_officer", facility=other)
    OffenceFactory(code="VOL", name_ar="سرقة", name_fr="Vol")
    OffenceFactory(code="CBV", name_ar="الضرب والجرح", name_fr="Coups et blessures volontaires")
    men = wing(own, regime=Regime.REMAND, name="A")
    women = wing(own, sex=Sex.FEMALE, regime=Regime.MIXED, name="F")
    return {
        "own": own,
        "other": other,
        "officer": officer,
        "receiver": receiver,
        "men": men,
        "women": women,
        "r1": cell(men, number="R1", beds=1, maximum=1),
        "r2": cell(men, number="R2", beds=2, maximum=2),
        "f1": cell(women, number="F1", beds=2, maximum=2),
    }


# -- helpers -----------------------------------------------------------------------------------
def _t(lang: str, text: str, **params) -> str:
    with translation.override(lang):
        out = gettext(text)
        return out % params if params else out


def _ago(**kw) -> dt.datetime:
    return timezone.now() - dt.timedelta(**kw)


def _local_input(moment: dt.datetime) -> str:
    """A moment as a ``datetime-local`` input takes it (the server's local time)."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _lang_dir(page: Page) -> tuple[str | None, str | None]:
    html = page.locator("html")
    return html.get_attribute("lang"), html.get_attribute("dir")


def _expect_lang(page: Page, lang: str) -> None:
    assert _lang_dir(page) == (lang, "rtl" if lang == "ar" else "ltr")


def sign_in(page: Page, base: str, username: str, lang: str = "ar") -> None:
    """Sign in, then choose ``lang`` with the language switcher (Arabic is the default)."""
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
    if page.locator("html").get_attribute("lang") != lang:
        page.locator(f"button[data-lang={lang}]").click()
        page.wait_for_function(f"document.documentElement.lang === '{lang}'")
    _expect_lang(page, lang)


def _field_errors(page: Page, name: str):
    """The error list shown next to the input, select or textarea called ``name``."""
    return page.locator(f".field.has-error:has([name={name}]) .errorlist li")


def _messages(page: Page):
    return page.locator(".messages .msg")


def prisoner(facility, **kw) -> CustodyPeriod:
    """An adult man on remand in custody at ``facility`` since two days (no cell yet)."""
    person = PersonFactory(
        sex=PersonSex.MALE,
        birth_date=adult_birth(),
        first_name_ar="كريم",
        family_name_ar="بناني",
        first_name_latin="Karim",
        family_name_latin="Bennani",
    )
    return CustodyPeriodFactory(
        facility=facility,
        person=person,
        legal_status=LegalStatus.REMAND,
        committed_at=_ago(days=2),
        **kw,
    )


# -- 1. admission ------------------------------------------------------------------------------
@pytest.mark.parametrize("choice", ["same_person", "new_person"])
def test_admission_in_arabic(live_server, world, new_page, choice):
    """Search, a malformed CIN refused next to its field, the likely duplicate either linked
    (a former prisoner of this institution, found by the search) or confirmed as a new
    person (a namesake held elsewhere, not visible here), then the custody page."""
    own, base, lang = world["own"], live_server.url, "ar"
    known = PersonFactory(
        first_name_ar="يوسف",
        family_name_ar="الإدريسي",
        first_name_latin="Youssef",
        family_name_latin="Idrissi",
        birth_date=BIRTH,
    )
    if choice == "same_person":  # released from here a year ago: the search finds them
        CustodyPeriodFactory(
            person=known,
            facility=own,
            committal_number="OUJDA2-2024-000031",
            committed_at=_ago(days=700),
            status=CustodyStatus.RELEASED,
            released_at=_ago(days=400),
            detention__ended_at=_ago(days=400),
            detention__end_reason=DetentionEnd.PROVISIONAL_RELEASE,
        )
    else:  # held in another institution: this officer's search does not see them
        CustodyPeriodFactory(
            person=known, facility=world["other"], committal_number="BERKANE2-2026-000007"
        )
    persons_before = Person.objects.count()

    page = new_page()
    sign_in(page, base, "registry.oujda2", lang)

    # search before admitting
    page.goto(f"{base}/inmates/")
    _expect_lang(page, lang)
    page.fill("input[name=q]", "Youssef Idrissi")
    page.locator("form[role=search] button[type=submit]").click()
    results = page.locator("#inmate-results tbody tr")
    if choice == "same_person":
        expect(results.locator("td code").first).to_have_text("OUJDA2-2024-000031")
        expect(results).to_have_count(1)
    else:
        expect(results.first).to_have_text(_t(lang, "No person matches."))
        assert "BERKANE2-2026-000007" not in page.content()
    page.locator("main a[href*='/inmates/admit/?q=']").click()
    page.wait_for_url(re.compile(r"/inmates/admit/\?q="))
    _expect_lang(page, lang)
    expect(page.locator("main h1")).to_have_text(_t(lang, "Admit a person"))

    # an officer of one institution admits there: nothing to choose
    assert page.locator("select[name=facility]").input_value() == "OUJDA2"
    committed_at = _ago(hours=3)
    typed = {
        "first_name_ar": "يوسف",
        "family_name_ar": "الإدريسي",
        "father_name_ar": "أحمد",
        "mother_name_ar": "فاطمة الزهراء",
        "first_name_latin": "Youssef",
        "family_name_latin": "Idrissi",
        "birth_date": BIRTH.isoformat(),
        "birth_place": "وجدة",
        "cin": "12-AB",  # digits first: not a CIN
        "committed_at": _local_input(committed_at),
        "committing_authority": "وكيل الملك لدى المحكمة الابتدائية بوجدة",
        "court": "المحكمة الابتدائية بوجدة",
        "warrant_reference": "MD-2026-4411",
        "case_number": "2026/2103/118",
        "escort": "الأمن الوطني، وجدة",
        "offence_codes": "VOL, CBV",
    }
    for name, value in typed.items():
        page.fill(f"[name={name}]", value)
    page.select_option("select[name=sex]", PersonSex.MALE)
    page.select_option("select[name=legal_status]", LegalStatus.REMAND)
    admit = page.locator("main form.stacked .actions button[type=submit]")
    admit.click()
    page.wait_for_load_state()

    # the malformed CIN: a translated message next to the field, everything typed kept
    cin_msgid = (
        "A national identity card number is one or two Latin letters followed by digits, "
        "for example AB123456 or J456789."
    )
    cin_message = _t(lang, cin_msgid)
    assert cin_message != _t("en", cin_msgid)  # really translated
    expect(_field_errors(page, "cin")).to_have_text([cin_message])
    expect(page.locator(".field.has-error")).to_have_count(1)
    for name, value in typed.items():
        assert page.locator(f"[name={name}]").input_value() == value, name
    assert page.locator("select[name=sex]").input_value() == PersonSex.MALE
    assert page.locator("select[name=legal_status]").input_value() == LegalStatus.REMAND
    assert Person.objects.count() == persons_before
    assert not CustodyPeriod.objects.filter(facility=own, status=CustodyStatus.IN_CUSTODY).exists()

    # corrected: the service finds the person on file with these names and date of birth
    page.fill("[name=cin]", "" if choice == "same_person" else "FB123456")
    admit.click()
    expect(page.locator("#candidates-title")).to_have_text(_t(lang, "Persons on file"))
    expect(page.locator("main form > .errorlist li")).to_have_text(
        [
            _t(
                lang,
                "Persons on file may be the one you are admitting: choose one of them, "
                "or confirm that this is a new person.",
            )
        ]
    )
    candidates = page.locator("section[aria-labelledby=candidates-title] tbody tr")
    expect(candidates).to_have_count(1)
    expect(candidates.locator("td").first).to_have_text(known.full_name_ar)
    assert page.locator("[name=offence_codes]").input_value() == "VOL, CBV"
    assert Person.objects.count() == persons_before

    if choice == "same_person":
        button = page.locator(f"button[name=existing_person][value='{known.uuid}']")
        expect(button).to_have_text(_t(lang, "This is the same person"))
    else:
        button = page.locator("section[aria-labelledby=candidates-title] .actions button")
        expect(button).to_have_text(_t(lang, "Confirm a new person"))
    button.click()
    page.wait_for_url(re.compile(rf"/inmates/({UUID_RE})/$"))
    _expect_lang(page, lang)

    custody = CustodyPeriod.objects.get(facility=own, status=CustodyStatus.IN_CUSTODY)
    number = custody.committal_number
    year = timezone.localtime(committed_at).year
    assert re.fullmatch(rf"OUJDA2-{year}-\d{{6}}", number)
    assert page.url.endswith(f"/inmates/{custody.uuid}/")
    expect(page.locator("main h1 code")).to_have_text(number)
    expect(_messages(page)).to_have_text(
        [_t(lang, "Admitted: committal number %(number)s.", number=number)]
    )
    shown = page.locator("main h2 + ul li code")
    expect(shown).to_have_count(2)
    assert sorted(shown.all_inner_texts()) == ["CBV", "VOL"]
    assert sorted(custody.offences.values_list("code", flat=True)) == ["CBV", "VOL"]
    if choice == "same_person":
        assert custody.person_id == known.pk
        assert Person.objects.count() == persons_before
    else:
        assert custody.person_id != known.pk
        assert Person.objects.count() == persons_before + 1
        assert custody.person.cin == "FB123456"
        assert custody.person.mother_name_ar == "فاطمة الزهراء"


# -- 2. housing --------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_cell_allocation_and_refusals(live_server, world, new_page, lang):
    base = live_server.url
    custody = prisoner(world["own"])
    r1, r2, f1 = world["r1"], world["r2"], world["f1"]
    page = new_page()
    sign_in(page, base, "registry.oujda2", lang)

    page.goto(f"{base}/inmates/{custody.uuid}/")
    housing = page.locator("#housing")
    expect(housing.locator(".msg")).to_have_text(_t(lang, "No cell allocated yet."))
    housing.locator(f"a[href$='/{custody.uuid}/housing/']").click()  # htmx: the form opens here
    select = page.locator("#housing-form select[name=cell]")
    expect(select).to_be_visible()
    offered = select.locator("option").evaluate_all("os => os.map(o => o.value)")
    # only the cells this man on remand may go to, with room: not the women's wing
    assert sorted(offered) == sorted([str(r1.uuid), str(r2.uuid)])

    # meanwhile another officer puts someone in R1, its only place
    other = prisoner(world["own"])
    place(other, r1)
    select.select_option(str(r1.uuid))
    page.locator("#housing-form form[method=post] button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/inmates/{custody.uuid}/housing/$"))
    _expect_lang(page, lang)
    full = _t(
        lang,
        "Cell %(cell)s of wing %(wing)s is full: it holds its operational maximum "
        "of %(max)s persons.",
        cell="R1",
        wing="A",
        max=1,
    )
    # (a conflict of the moment, not a wrong choice: said at the top of the form)
    expect(page.locator("main form[method=post] > .errorlist li")).to_have_text([full])
    assert not CellAssignment.objects.filter(custody=custody).exists()
    assert counter(r1) == 1

    # a women's cell (a page opened before the list changed, or a forged request): the
    # separation rule refuses it, whatever the list offered
    offered = page.locator("select[name=cell] option").evaluate_all("os => os.map(o => o.value)")
    assert offered == [str(r2.uuid)]
    page.locator("select[name=cell]").evaluate(
        "(s, v) => { const o = new Option('F1', v); s.add(o); s.value = v; }", str(f1.uuid)
    )
    page.locator("main form[method=post] button[type=submit]").click()
    page.wait_for_load_state()
    rule = {}
    for language in (lang, "en"):
        with translation.override(language):
            breach = housing_breaches(
                sex=custody.person.sex,
                birth_date=custody.person.birth_date,
                legal_status=custody.legal_status,
                cell=f1,
                wing=world["women"],
                on=timezone.localdate(),
            )[0]
            rule[language] = str(breach.message)
    assert breach.code == "sex_separation"
    sex_rule = rule[lang]
    assert sex_rule != rule["en"]  # really translated
    expect(_field_errors(page, "cell")).to_have_text([sex_rule])
    assert not CellAssignment.objects.filter(custody=custody).exists()
    assert counter(f1) == 0

    # R2 then: recorded, back on the record page
    page.locator("select[name=cell]").select_option(str(r2.uuid))
    page.fill("[name=reason]", "Arrivant")
    page.locator("main form[method=post] button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/inmates/{custody.uuid}/#housing$"))
    expect(_messages(page)).to_have_text([_t(lang, "Housing recorded.")])
    expect(page.locator("#housing dl.facts strong")).to_have_text("R2")
    stay = CellAssignment.objects.get(custody=custody)
    assert stay.cell_id == r2.pk and stay.ended_at is None
    assert counter(r2) == 1


# -- 3. transfer -------------------------------------------------------------------------------
def test_transfer_in_french(live_server, world, new_page):
    base, lang = live_server.url, "fr"
    own, other = world["own"], world["other"]
    old = prisoner(own, committal_number="OUJDA2-2026-000412")
    place(old, world["r2"])

    page = new_page()
    sign_in(page, base, "registry.oujda2", lang)
    page.goto(f"{base}/inmates/{old.uuid}/")
    page.locator(f"#movements a[href$='/{old.uuid}/transfer/']").click()
    page.wait_for_url(re.compile(rf"/inmates/{old.uuid}/transfer/$"))
    _expect_lang(page, lang)
    expect(page.locator("main h1")).to_have_text(_t(lang, "Transfer to another institution"))
    # the destination list: other institutions only
    codes = page.locator("select[name=to_facility] option").evaluate_all(
        "os => os.map(o => o.value).filter(Boolean)"
    )
    assert codes == ["BERKANE2"]
    page.select_option("select[name=to_facility]", "BERKANE2")
    page.fill("[name=at]", _local_input(_ago(minutes=30)))
    page.fill("[name=authority_reference]", "DGAPR/TR/2026/117")
    page.fill("[name=reason]", "Rapprochement familial")
    page.fill("[name=escort]", "Gendarmerie royale, Oujda")
    page.locator("main form.stacked button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/inmates/{old.uuid}/$"))
    _expect_lang(page, lang)
    with translation.override(lang):
        where = str(other)
    expect(_messages(page)).to_have_text([_t(lang, "Transferred to %(facility)s.", facility=where)])

    old.refresh_from_db()
    assert old.status == CustodyStatus.TRANSFERRED_OUT and old.cell_id is None
    new = CustodyPeriod.objects.get(transferred_from=old)
    assert new.facility_id == other.pk and new.status == CustodyStatus.IN_CUSTODY
    assert re.fullmatch(rf"BERKANE2-{timezone.localdate().year}-\d{{6}}", new.committal_number)

    # the sending officer: the closed period stays, the current file is not theirs
    expect(page.locator("main h1 code")).to_have_text("OUJDA2-2026-000412")
    response = page.goto(f"{base}/inmates/{new.uuid}/")
    assert response is not None and response.status == 404
    assert new.committal_number not in page.content()

    # the receiving officer opens the file
    there = new_page()
    sign_in(there, base, "registry.berkane2", lang)
    response = there.goto(f"{base}/inmates/{new.uuid}/")
    assert response is not None and response.status == 200
    _expect_lang(there, lang)
    expect(there.locator("main h1 code")).to_have_text(new.committal_number)
    expect(there.locator("#movements")).to_contain_text("OUJDA2-2026-000412")
    expect(there.locator("#housing .msg")).to_have_text(_t(lang, "No cell allocated yet."))
    # and finds the prisoner by name in the registry
    there.goto(f"{base}/inmates/?q={old.person.first_name_latin}+{old.person.family_name_latin}")
    expect(there.locator("#inmate-results tbody td:first-child code")).to_have_text(
        [new.committal_number]
    )


# -- 4. release --------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_release_with_checklist_and_certificate(live_server, world, new_page, lang):
    base = live_server.url
    custody = prisoner(world["own"])
    place(custody, world["r2"])
    item = PropertyItemFactory(
        detention=custody.detention, facility=world["own"], description="Montre"
    )

    page = new_page()
    sign_in(page, base, "registry.oujda2", lang)
    page.goto(f"{base}/inmates/{custody.uuid}/")
    page.locator(f"#movements a[href$='/{custody.uuid}/release/']").click()
    page.wait_for_url(re.compile(rf"/inmates/{custody.uuid}/release/$"))
    _expect_lang(page, lang)
    expect(page.locator("main h1")).to_have_text(_t(lang, "Release"))

    page.select_option("select[name=reason]", DetentionEnd.PROVISIONAL_RELEASE)
    page.fill("[name=at]", _local_input(_ago(minutes=10)))
    page.fill("[name=authority]", "Juge d'instruction, TPI Oujda")
    page.fill("[name=decision_reference]", "JI/2026/552")
    first = ["identity_verified", "order_checked"]
    for code in first:
        page.check(f"input[name=checklist][value={code}]")
    submit = page.locator("main form.stacked .actions button[type=submit]")
    submit.click()
    page.wait_for_load_state()

    # incomplete: the missing items named (property is kept, so its return is required)
    missing = [
        i
        for i in RELEASE_CHECKLIST
        if i.code in ("no_other_detention_order", "property_returned", "documents_handed_over")
    ]
    with translation.override(lang):
        items = "; ".join(str(i.label) for i in missing)
    expect(page.locator("fieldset.has-error .errorlist li")).to_have_text(
        [_t(lang, "The release checklist is not complete: %(items)s.", items=items)]
    )
    for code in first:
        assert page.locator(f"input[name=checklist][value={code}]").is_checked()
    assert page.locator("[name=decision_reference]").input_value() == "JI/2026/552"
    custody.refresh_from_db()
    assert custody.status == CustodyStatus.IN_CUSTODY

    for i in missing:
        page.check(f"input[name=checklist][value={i.code}]")
    submit.click()
    page.wait_for_url(re.compile(rf"/inmates/{custody.uuid}/$"))
    _expect_lang(page, lang)
    custody.refresh_from_db()
    assert custody.status == CustodyStatus.RELEASED and custody.cell_id is None
    record = custody.release_record
    expect(_messages(page)).to_have_text(
        [
            _t(
                lang,
                "Released. Release certificate %(number)s.",
                number=record.certificate_number,
            )
        ]
    )
    item.refresh_from_db()
    assert item.status == PropertyStatus.RETURNED
    assert (
        PropertyItem.objects.filter(detention=custody.detention, status=PropertyStatus.KEPT).count()
        == 0
    )

    links = page.locator("#movements a[href*='/release-certificate.pdf']")
    expect(links).to_have_count(2)
    for href in links.evaluate_all("as => as.map(a => a.getAttribute('href'))"):
        response = page.request.get(f"{base}{href}")
        assert response.status == 200, href
        assert response.headers["content-type"] == "application/pdf"
        assert response.body().startswith(b"%PDF-")
