"""Legal pages: the section of the custody record (in Arabic and French), the action pages,
royal pardon pages, releases due; scoping (404 for another institution), rights (403),
refusals shown and nothing changed, query counts pinned."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from idmaj.core.tests.factories import UserFactory, grant
from idmaj.inmates import services
from idmaj.inmates.constants import (
    ConditionalReleaseStatus,
    HearingKind,
    HearingOutcome,
    LegalStatus,
    SentenceStatus,
)
from idmaj.inmates.models import ConditionalRelease, Hearing, PardonDecree, PardonGrant, Sentence
from idmaj.inmates.selectors import legal_file

from . import legal_fixtures as fx
from .factories import registry_roles
from .legal_fixtures import *  # noqa: F403
from .legal_fixtures import at, d

HTMX = {"HTTP_HX_REQUEST": "true"}
TODAY = timezone.localdate()


def _login(client, user, lang="ar"):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    return client


def _detail(custody) -> str:
    return reverse("inmates:detail", args=[custody.uuid])


def _hearing(actor, custody, when=None) -> Hearing:
    return services.hearing_schedule(
        actor=actor,
        custody=custody,
        kind=HearingKind.TRIAL,
        court="TPI Oujda",
        case_number="2023/1",
        scheduled_at=when or at(2023, 3, 1, 9),
    )


def _full_file(lg):
    officer, custody = lg["officer"], lg["custody"]
    h = _hearing(officer, custody)
    services.hearing_decide(
        actor=officer,
        hearing=h,
        outcome=HearingOutcome.CONVICTED,
        decided_on=d(2023, 3, 1),
        legal_status_after=LegalStatus.CONVICTED,
    )
    _hearing(officer, custody, when=timezone.now() + dt.timedelta(days=10))
    _hearing(officer, custody, when=at(2023, 5, 2))  # held, not yet decided
    s = fx.sentence(officer, custody, years=2, months=1, start_date=d(2023, 1, 31), hearing=h)
    fx.apply(officer, fx.decree(officer), "OUJDA2-2023-000001;reduction;15")
    services.conditional_release_decide(
        actor=officer,
        custody=custody,
        decided_on=d(2024, 9, 1),
        authority="Ministre de la Justice",
        decision_reference="LC-9",
        status=ConditionalReleaseStatus.REFUSED,
    )
    return s


# -- the section -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("fr", ["Début de la peine 1", "Date de libération prévue"]),
        ("ar", ["بداية العقوبة رقم 1", 'dir="rtl"']),
    ],
)
def test_section_shows_the_file_and_its_explanation(client, lg, lang, words):
    _full_file(lg)
    r = _login(client, lg["officer"], lang).get(_detail(lg["custody"]))
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="legal"' in html
    for word in words:
        assert word in html, word
    # 31 Jan 2023 + 2 years + 1 month = 28 Feb 2025 (clamped); - 15 days = 13 Feb 2025
    assert fx.expected(lg["custody"]) == d(2025, 2, 13)
    assert "LC-9" in html and "DEC-2024-THRONE" in html and "TPI Oujda" in html
    for name in ("hearing_new", "sentence_new", "conditional_release_new"):
        assert reverse(f"inmates:{name}", args=[lg["custody"].uuid]) in html
    s = Sentence.objects.get()
    assert reverse("inmates:sentence_quash", args=[s.uuid]) in html
    held = Hearing.objects.get(scheduled_at=at(2023, 5, 2))
    assert reverse("inmates:hearing_decide", args=[held.uuid]) in html
    # an upcoming hearing cannot be decided yet: no link
    upcoming = Hearing.objects.filter(scheduled_at__gt=timezone.now()).get()
    assert reverse("inmates:hearing_decide", args=[upcoming.uuid]) not in html


def test_section_offers_no_action_to_a_viewer(client, lg):
    _full_file(lg)
    html = _login(client, lg["viewer"]).get(_detail(lg["custody"])).content.decode()
    assert 'id="legal"' in html and "DEC-2024-THRONE" in html
    assert reverse("inmates:sentence_new", args=[lg["custody"].uuid]) not in html
    assert "/decide/" not in html and "/quash/" not in html


def test_section_query_count_does_not_grow(client, lg, django_assert_max_num_queries):
    _full_file(lg)
    _login(client, lg["officer"])
    url = _detail(lg["custody"])
    with django_assert_max_num_queries(60) as few:
        client.get(url)
    officer, custody = lg["officer"], lg["custody"]
    for i in range(4):
        _hearing(officer, custody, when=at(2023, 4, 1 + i))
        fx.sentence(officer, custody, months=1 + i, start_date=d(2023, 3, 1))
        fx.apply(officer, fx.decree(officer, f"DEC-{i}"), "OUJDA2-2023-000001;reduction;1")
    with django_assert_max_num_queries(len(few.captured_queries)):
        r = client.get(url)
    assert r.content.decode().count("/quash/") == 5


# -- action pages ----------------------------------------------------------------------------
def test_hearing_and_decision_pages(client, lg):
    _login(client, lg["officer"], "en")
    custody = lg["custody"]
    url = reverse("inmates:hearing_new", args=[custody.uuid])
    assert client.get(url).status_code == 200
    r = client.post(
        url,
        {"kind": "trial", "court": "TPI Oujda", "scheduled_at": "2023-03-01T09:00", "notes": ""},
    )
    assert r.status_code == 302 and r["Location"].endswith("#legal")
    hearing = Hearing.objects.get()
    url = reverse("inmates:hearing_decide", args=[hearing.uuid])
    page = client.get(url)
    assert page.status_code == 200 and 'value="2023-03-01"' in page.content.decode()
    # refused: the decision before the hearing, shown next to the field, nothing changed
    before = fx.state()
    r = client.post(url, {"outcome": "convicted", "decided_on": "2023-02-01"})
    assert r.status_code == 400 and "before the hearing" in r.content.decode()
    assert fx.state() == before
    r = client.post(
        url,
        {"outcome": "convicted", "decided_on": "2023-03-01", "legal_status_after": "convicted"},
    )
    assert r.status_code == 302
    assert fx.reload(custody).legal_status == LegalStatus.CONVICTED


def test_sentence_and_quash_pages(client, lg):
    _login(client, lg["officer"])
    custody = lg["custody"]
    url = reverse("inmates:sentence_new", args=[custody.uuid])
    assert client.get(url).status_code == 200
    form = {
        "court": "TPI Oujda",
        "pronounced_on": "2023-03-01",
        "years": "1",
        "months": "0",
        "days": "0",
        "start_date": "2023-03-01",
        "credited_days": "0",
    }
    before = fx.state()
    r = client.post(url, {**form, "years": "0"})  # no length
    assert r.status_code == 400 and 'class="errorlist"' in r.content.decode()
    assert fx.state() == before
    assert client.post(url, form).status_code == 302
    first = Sentence.objects.get()
    r = client.post(
        url,
        {**form, "start_date": "", "consecutive_to": str(first.uuid), "years": "0", "months": "6"},
    )
    assert r.status_code == 302
    assert fx.expected(custody) == d(2024, 9, 1)
    second = Sentence.objects.latest("pk")
    url = reverse("inmates:sentence_quash", args=[second.uuid])
    assert client.get(url).status_code == 200
    assert client.post(url, {"reason": "Cour d'appel"}).status_code == 302
    second.refresh_from_db()
    assert second.status == SentenceStatus.QUASHED
    assert fx.expected(custody) == d(2024, 3, 1)


def test_conditional_release_page(client, lg):
    _login(client, lg["officer"])
    custody = lg["custody"]
    fx.sentence(lg["officer"], custody, years=2, start_date=d(2023, 3, 1))
    url = reverse("inmates:conditional_release_new", args=[custody.uuid])
    data = {
        "status": "granted",
        "decided_on": "2024-06-01",
        "authority": "Ministre de la Justice",
        "decision_reference": "LC-1",
        "release_on": "2024-06-15",
        "supervision_until": "2025-03-01",
    }
    assert client.post(url, data).status_code == 302
    assert fx.expected(custody) == d(2024, 6, 15)
    before = fx.state()
    r = client.post(url, {**data, "decision_reference": "LC-2", "release_on": ""})
    assert r.status_code == 400
    assert fx.state() == before


def test_action_pages_are_forbidden_without_the_right(client, lg):
    officer, custody = lg["officer"], lg["custody"]
    h = _hearing(officer, custody)
    s = fx.sentence(officer, custody, years=1, start_date=d(2023, 3, 1))
    _login(client, lg["viewer"])
    before = fx.state()
    for url in (
        reverse("inmates:hearing_new", args=[custody.uuid]),
        reverse("inmates:sentence_new", args=[custody.uuid]),
        reverse("inmates:conditional_release_new", args=[custody.uuid]),
        reverse("inmates:hearing_decide", args=[h.uuid]),
        reverse("inmates:sentence_quash", args=[s.uuid]),
    ):
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"reason": "x", "court": "x"}).status_code == 403, url
    assert fx.state() == before


def test_another_institution_gets_404_everywhere(client, lg):
    officer, custody = lg["officer"], lg["custody"]
    h = _hearing(officer, custody)
    s = fx.sentence(officer, custody, years=1, start_date=d(2023, 3, 1))
    _login(client, lg["officer_b"])
    before = fx.state()
    for url in (
        _detail(custody),
        reverse("inmates:hearing_new", args=[custody.uuid]),
        reverse("inmates:sentence_new", args=[custody.uuid]),
        reverse("inmates:conditional_release_new", args=[custody.uuid]),
        reverse("inmates:hearing_decide", args=[h.uuid]),
        reverse("inmates:sentence_quash", args=[s.uuid]),
        reverse("inmates:hearing_decide", args=[uuid.uuid4()]),
        reverse("inmates:sentence_quash", args=[uuid.uuid4()]),
        reverse("inmates:pardon_detail", args=[uuid.uuid4()]),
        reverse("inmates:pardon_apply", args=[uuid.uuid4()]),
    ):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"reason": "x"}).status_code == 404, url
    assert fx.state() == before


def test_a_transferred_period_shows_the_file_as_it_was(client, lg):
    officer, custody = lg["officer"], lg["custody"]
    h = _hearing(officer, custody)
    first = fx.sentence(officer, custody, years=1, start_date=d(2023, 3, 1))
    moved = fx.transfer(custody, lg["b"])
    officer_b = lg["officer_b"]
    services.hearing_decide(
        actor=officer_b,
        hearing=h,
        outcome=HearingOutcome.SENTENCE_CHANGED,
        decided_on=d(2023, 3, 1),
        notes="secret de Salé",
    )
    second = fx.sentence(officer_b, moved, years=7, start_date=d(2023, 3, 1), court="TPI Salé")
    services.sentence_quash(actor=officer_b, sentence=first, reason="remplacée")
    assert fx.expected(moved) == d(2030, 3, 1)

    # the sending institution: the file as it was when the prisoner left
    html = _login(client, officer).get(_detail(custody)).content.decode()
    assert "TPI Salé" not in html and "secret de Salé" not in html
    assert "2030" not in html
    as_then = legal_file(custody=fx.reload(custody))
    assert as_then.as_of is not None
    assert [r.sentence.status for r in as_then.sentences] == [SentenceStatus.IN_FORCE]
    assert as_then.release.expected_release == d(2024, 3, 1)
    assert as_then.hearings_past[0].outcome == HearingOutcome.PENDING
    assert "secret" not in as_then.hearings_past[0].notes
    assert "/decide/" not in html and "/quash/" not in html
    # it cannot act any more, nor reach what was recorded after
    assert client.get(reverse("inmates:hearing_decide", args=[h.uuid])).status_code == 403
    assert client.get(reverse("inmates:sentence_quash", args=[second.uuid])).status_code == 404
    # the institution holding the prisoner sees the whole file
    html = _login(client, officer_b).get(_detail(moved)).content.decode()
    assert "TPI Salé" in html and "secret de Salé" in html


# -- royal pardon pages ----------------------------------------------------------------------
def test_pardon_pages_flow(client, lg):
    _login(client, lg["officer"], "fr")
    fx.sentence(lg["officer"], lg["custody"], years=5, start_date=d(2023, 3, 1))
    assert client.get(reverse("inmates:pardon_list")).status_code == 200
    url = reverse("inmates:pardon_new")
    assert client.get(url).status_code == 200
    r = client.post(
        url, {"reference": "DEC-T", "occasion": "Fête du Trône", "signed_on": "2024-07-30"}
    )
    decree = PardonDecree.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse(
        "inmates:pardon_apply", args=[decree.uuid]
    )
    apply_url = reverse("inmates:pardon_apply", args=[decree.uuid])
    assert client.get(apply_url).status_code == 200
    # every bad line listed, nothing applied
    before = fx.state()
    r = client.post(
        apply_url,
        {"lines": "OUJDA2-2023-000001;reduction;30\nOUJDA2-2099-000001;reduction;3\nX;y"},
    )
    html = r.content.decode()
    assert r.status_code == 400
    assert "OUJDA2-2099-000001" in html
    assert '<td class="num">2</td>' in html and '<td class="num">3</td>' in html
    assert '<td class="num">1</td>' not in html
    assert fx.state() == before
    r = client.post(apply_url, {"lines": "OUJDA2-2023-000001;reduction;30"})
    assert r.status_code == 302
    assert fx.expected(lg["custody"]) == d(2028, 3, 1) - dt.timedelta(days=30)
    detail = client.get(reverse("inmates:pardon_detail", args=[decree.uuid])).content.decode()
    assert "OUJDA2-2023-000001" in detail and "Idrissi" in detail
    listing = client.get(reverse("inmates:pardon_list")).content.decode()
    assert "DEC-T" in listing


def test_pardon_apply_with_a_csv_file(client, lg):
    fx.sentence(lg["officer"], lg["custody"], years=5, start_date=d(2023, 3, 1))
    decree = fx.decree(lg["officer"])
    _login(client, lg["officer"])
    upload = SimpleUploadedFile(
        "grace.csv",
        "\ufeffcommittal_number,kind,days\r\nOUJDA2-2023-000001,reduction,60\r\n".encode(),
        content_type="text/csv",
    )
    r = client.post(reverse("inmates:pardon_apply", args=[decree.uuid]), {"file": upload})
    assert r.status_code == 302
    assert PardonGrant.objects.get().days == 60


def test_pardon_pages_rights_and_scope(client, lg):
    dec = fx.decree(lg["officer"])
    fx.sentence(lg["officer"], lg["custody"], years=5, start_date=d(2023, 3, 1))
    fx.apply(lg["officer"], dec, "OUJDA2-2023-000001;reduction;30")
    detail = reverse("inmates:pardon_detail", args=[dec.uuid])
    # a director sees decrees and his prisoners' grants, may not record or apply
    _login(client, lg["director"])
    html = client.get(reverse("inmates:pardon_list")).content.decode()
    assert "DEC-2024-THRONE" in html and reverse("inmates:pardon_new") not in html
    assert "OUJDA2-2023-000001" in client.get(detail).content.decode()
    before = fx.state()
    assert client.get(reverse("inmates:pardon_new")).status_code == 403
    assert (
        client.post(
            reverse("inmates:pardon_apply", args=[dec.uuid]), {"lines": "x;release"}
        ).status_code
        == 403
    )
    assert fx.state() == before
    # another institution sees the decree, not OUJDA2's beneficiaries
    _login(client, lg["officer_b"])
    html = client.get(detail).content.decode()
    assert "DEC-2024-THRONE" in html and "OUJDA2-2023-000001" not in html
    # without the registry's rights: no pardon pages at all
    registry_roles()
    nobody = UserFactory(username="facilities.only")
    grant(nobody, "test_facility_only", facility=lg["a"])
    _login(client, nobody)
    assert client.get(reverse("inmates:pardon_list")).status_code == 403
    assert client.get(detail).status_code == 404


def test_pardon_list_query_count(client, lg, django_assert_max_num_queries):
    _login(client, lg["officer"])
    fx.decree(lg["officer"], "D-0")
    url = reverse("inmates:pardon_list")
    with django_assert_max_num_queries(20) as few:
        client.get(url)
    for i in range(1, 6):
        dec = fx.decree(lg["officer"], f"D-{i}")
        fx.apply(lg["officer"], dec, "OUJDA2-2023-000001;release")
    with django_assert_max_num_queries(len(few.captured_queries)):
        r = client.get(url)
    assert r.content.decode().count("D-") >= 6


def test_pardon_detail_query_count(client, lg, django_assert_max_num_queries):
    dec = fx.decree(lg["officer"])
    fx.apply(lg["officer"], dec, "OUJDA2-2023-000001;release")
    _login(client, lg["officer"])
    url = reverse("inmates:pardon_detail", args=[dec.uuid])
    with django_assert_max_num_queries(20) as few:
        client.get(url)
    more = [fx.prisoner(lg["a"], f"OUJDA2-2023-{100 + i:06d}") for i in range(5)]
    fx.apply(lg["officer"], fx.decree(lg["officer"], "D2"), "OUJDA2-2023-000001;release")
    PardonGrant.objects.filter(decree__reference="D2").delete()
    fx.apply(lg["officer"], dec, *[f"{c.committal_number};release" for c in more])
    with django_assert_max_num_queries(len(few.captured_queries)):
        r = client.get(url)
    assert r.content.decode().count("OUJDA2-2023-0001") == 5


# -- releases due ----------------------------------------------------------------------------
def _due(lg, number, in_days, facility=None):
    custody = fx.prisoner(facility or lg["a"], number)
    officer = lg["officer"] if facility in (None, lg["a"]) else lg["officer_b"]
    fx.sentence(
        officer, custody, days=(TODAY - d(2023, 3, 1)).days + in_days, start_date=d(2023, 3, 1)
    )
    return custody


def test_releases_due_page(client, lg, django_assert_max_num_queries):
    _due(lg, "OUJDA2-2023-000020", 3)
    _due(lg, "OUJDA2-2023-000021", -2)  # overdue
    _due(lg, "OUJDA2-2023-000022", 50)
    _due(lg, "SALE2-2023-000020", 1, facility=lg["b"])
    _login(client, lg["officer"], "en")
    url = reverse("inmates:releases_due")
    r = client.get(url)
    html = r.content.decode()
    assert r.status_code == 200
    assert html.index("OUJDA2-2023-000021") < html.index("OUJDA2-2023-000020")
    assert "OUJDA2-2023-000022" not in html and "SALE2-2023-000020" not in html
    assert '<tr class="over">' in html and "overdue" in html  # flagged
    html = client.get(url, {"days": "60", "facility": "OUJDA2"}, **HTMX).content.decode()
    assert "<html" not in html and "OUJDA2-2023-000022" in html
    # printable layout
    html = client.get(url, {"days": "60", "print": "1"}).content.decode()
    assert "@page" in html and 'class="mainnav"' not in html and "OUJDA2-2023-000022" in html
    # another institution's code is not a choice
    r = client.get(url, {"facility": "SALE2"})
    assert "SALE2-2023-000020" not in r.content.decode()
    # the query count does not grow with the number of rows
    with django_assert_max_num_queries(30) as few:
        client.get(url, {"days": "60"})
    for i in range(5):
        _due(lg, f"OUJDA2-2023-{30 + i:06d}", 4 + i)
    with django_assert_max_num_queries(len(few.captured_queries)):
        r = client.get(url, {"days": "60"})
    assert r.content.decode().count("OUJDA2-2023-0000") == 8


def test_conditional_release_is_the_reason_in_the_releases_due(client, lg):
    custody = _due(lg, "OUJDA2-2023-000040", 200)
    services.conditional_release_decide(
        actor=lg["officer"],
        custody=custody,
        decided_on=TODAY,
        authority="Ministre de la Justice",
        decision_reference="LC-40",
        status=ConditionalReleaseStatus.GRANTED,
        release_on=TODAY + dt.timedelta(days=5),
    )
    assert ConditionalRelease.objects.count() == 1
    html = _login(client, lg["officer"], "en").get(reverse("inmates:releases_due")).content
    assert "conditional release" in html.decode()
