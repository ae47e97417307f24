"""Corrections of a hearing and of a sentence recorded by mistake: services (rules, the
expected release recomputed, the audit entry with before, after and the reason), pages in
Arabic and French, the API (PATCH), scoping (404 for another institution, 403 without
``inmates.legal``) and refusals that change nothing; the file seen by an institution the
prisoner left shows the records as they were."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from idmaj.core.errors import ConflictError, DomainError, PermissionDenied
from idmaj.core.models import AuditEntry
from idmaj.inmates import services
from idmaj.inmates.constants import HearingKind, HearingOutcome, LegalStatus, SentenceStatus
from idmaj.inmates.models import Detention, Hearing, Sentence
from idmaj.inmates.selectors import legal_file

from . import legal_fixtures as fx
from .legal_fixtures import *  # noqa: F403
from .legal_fixtures import at, d

BASE = "/api/v1/inmates/"
REASON = "Erreur de saisie : jugement n° 2023/2103/1"


def _hearing(actor, custody, when=None, court="TPI Oujda") -> Hearing:
    return services.hearing_schedule(
        actor=actor,
        custody=custody,
        kind=HearingKind.TRIAL,
        court=court,
        case_number="2023/1",
        scheduled_at=when or at(2023, 3, 1, 9),
    )


def _decided(actor, custody, **kw) -> Hearing:
    h = _hearing(actor, custody, **kw)
    return services.hearing_decide(
        actor=actor,
        hearing=h,
        outcome=HearingOutcome.CONVICTED,
        decided_on=d(2023, 3, 1),
    )


def _two_sentences(lg) -> tuple[Sentence, Sentence]:
    """2 years from 31 January 2023, then 6 months after it: release 31 July 2025."""
    officer, custody = lg["officer"], lg["custody"]
    first = fx.sentence(officer, custody, years=2, start_date=d(2023, 1, 31))
    second = fx.sentence(officer, custody, months=6, consecutive_to=first)
    assert fx.expected(custody) == d(2025, 7, 31)
    return first, second


def _everything() -> tuple:
    """Every value a correction may write; equal before and after a refusal."""
    return (
        tuple(Hearing.objects.order_by("pk").values_list()),
        tuple(Sentence.objects.order_by("pk").values_list()),
        tuple(Detention.objects.order_by("pk").values_list("expected_release", "life_sentence")),
        AuditEntry.objects.filter(object_type__startswith="inmates.")
        .exclude(action=AuditEntry.Action.READ)
        .count(),
    )


def _corrections(obj) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(object_id=str(obj.uuid), verb="correct").order_by("pk"))


# -- services --------------------------------------------------------------------------------
def test_sentence_length_corrected_recomputes_the_release(lg):
    first, second = _two_sentences(lg)
    services.sentence_correct(
        actor=lg["officer"], sentence=first, years=3, months=2, reason=f"  {REASON} "
    )
    # By hand: 31 Jan 2023 + 3 years = 31 Jan 2026, + 2 months = 31 Mar 2026 (end of the
    # first); the second starts then: + 6 months = 31 Sep, clamped to 30 Sep 2026.
    assert fx.expected(lg["custody"]) == d(2026, 9, 30)
    first.refresh_from_db()
    assert (first.years, first.months, first.days) == (3, 2, 0)
    [entry] = _corrections(first)
    assert entry.action == AuditEntry.Action.UPDATE
    assert entry.facility_id == lg["a"].pk
    assert entry.before == {
        "years": 2,
        "months": 0,
        "expected_release": "2025-07-31",
        "life_sentence": False,
    }
    assert entry.after == {
        "years": 3,
        "months": 2,
        "reason": REASON,
        "custody": str(lg["custody"].uuid),
        "expected_release": "2026-09-30",
        "life_sentence": False,
    }
    rows = legal_file(custody=fx.reload(lg["custody"])).sentences
    assert [r.end for r in rows] == [d(2026, 3, 31), d(2026, 9, 30)]


def test_sentence_made_concurrent_and_credited(lg):
    first, second = _two_sentences(lg)
    services.sentence_correct(
        actor=lg["officer"],
        sentence=second,
        consecutive_to=None,
        start_date=d(2023, 3, 1),
        credited_days=10,
        reason=REASON,
    )
    # Concurrent now: 1 Mar 2023 + 6 months - 10 days = 22 Aug 2023; the first ends on
    # 31 Jan 2025, later: that is the release.
    assert fx.expected(lg["custody"]) == d(2025, 1, 31)
    second.refresh_from_db()
    assert second.consecutive_to_id is None and second.start_date == d(2023, 3, 1)
    [entry] = _corrections(second)
    assert entry.before["consecutive_to"] == first.pk and entry.after["consecutive_to"] is None


def test_hearing_corrected_with_its_audit(lg):
    h = _decided(lg["officer"], lg["custody"])
    services.hearing_correct(
        actor=lg["officer"],
        hearing=h,
        court="Cour d'appel d'Oujda",
        kind=HearingKind.APPEAL,
        outcome=HearingOutcome.SENTENCE_CHANGED,
        decided_on=d(2023, 3, 2),
        reason=REASON,
    )
    h.refresh_from_db()
    assert (h.court, h.kind, h.outcome, h.decided_on) == (
        "Cour d'appel d'Oujda",
        HearingKind.APPEAL,
        HearingOutcome.SENTENCE_CHANGED,
        d(2023, 3, 2),
    )
    [entry] = _corrections(h)
    assert entry.before == {
        "kind": "trial",
        "court": "TPI Oujda",
        "outcome": "convicted",
        "decided_on": "2023-03-01",
    }
    assert entry.after["court"] == "Cour d'appel d'Oujda" and entry.after["reason"] == REASON


@pytest.mark.parametrize("reason", ["", "   "])
def test_reason_is_required(lg, reason):
    first, _second = _two_sentences(lg)
    h = _hearing(lg["officer"], lg["custody"])
    before = _everything()
    with pytest.raises(DomainError) as exc:
        services.sentence_correct(actor=lg["officer"], sentence=first, years=5, reason=reason)
    assert exc.value.field == "reason"
    with pytest.raises(DomainError) as exc:
        services.hearing_correct(actor=lg["officer"], hearing=h, court="X", reason=reason)
    assert exc.value.field == "reason"
    assert _everything() == before


def test_invalid_sentence_corrections_change_nothing(lg):
    officer, custody = lg["officer"], lg["custody"]
    first, second = _two_sentences(lg)
    hearing = _decided(officer, custody, when=at(2023, 2, 20))
    pending = _hearing(officer, custody, when=at(2023, 2, 21))
    other = fx.sentence(lg["officer_b"], lg["custody_b"], years=1, start_date=d(2023, 3, 1))
    quashed = fx.sentence(officer, custody, years=1, start_date=d(2023, 3, 1))
    services.sentence_quash(actor=officer, sentence=quashed, reason="appel")
    before = _everything()
    cases = [
        # the chain would loop: the first after the second, which follows it
        (first, {"consecutive_to": second, "start_date": None}, "consecutive_to"),
        (second, {"consecutive_to": second}, "consecutive_to"),  # itself
        (second, {"consecutive_to": other}, "consecutive_to"),  # another detention
        (second, {"consecutive_to": quashed}, "consecutive_to"),
        (first, {"years": 0}, "years"),  # no length
        (first, {"years": 101}, "years"),
        (first, {"life": True}, None),  # a life sentence with a length
        (first, {"life": True, "years": 0}, "life"),  # followed by the second
        (first, {"start_date": d(2022, 12, 1)}, "start_date"),  # > 30 days before committal
        (first, {"start_date": None}, "start_date"),  # neither start nor previous
        (second, {"start_date": d(2023, 3, 1)}, "start_date"),  # both
        (
            first,
            {"start_date": timezone.localdate() + dt.timedelta(days=1)},
            "start_date",
        ),  # future
        (first, {"credited_days": 22}, "credited_days"),  # 21 days since committal
        (first, {"hearing": pending}, "hearing"),  # not decided
        (first, {"hearing": hearing, "pronounced_on": d(2023, 2, 19)}, "pronounced_on"),
        (first, {"years": 2}, None),  # nothing changed
    ]
    for sentence, changes, field in cases:
        with pytest.raises(DomainError) as exc:
            services.sentence_correct(actor=officer, sentence=sentence, reason=REASON, **changes)
        assert exc.value.field == field, (changes, exc.value.message)
    with pytest.raises(ConflictError) as exc:
        services.sentence_correct(actor=officer, sentence=quashed, years=2, reason=REASON)
    assert exc.value.code == "quashed"
    with pytest.raises(TypeError):
        services.sentence_correct(actor=officer, sentence=first, status="quashed", reason=REASON)
    assert _everything() == before


def test_invalid_hearing_corrections_change_nothing(lg):
    officer, custody = lg["officer"], lg["custody"]
    decided = _decided(officer, custody)
    fx.sentence(officer, custody, years=1, start_date=d(2023, 3, 1), hearing=decided)
    pending = _hearing(officer, custody, when=at(2023, 4, 1))
    with_status = _hearing(officer, custody, when=at(2023, 5, 1))
    services.hearing_decide(
        actor=officer,
        hearing=with_status,
        outcome=HearingOutcome.APPEAL_LODGED,
        decided_on=d(2023, 5, 1),
        legal_status_after=LegalStatus.APPEALING,
    )
    before = _everything()
    cases = [
        (pending, {"outcome": HearingOutcome.CONVICTED}, "outcome"),  # decide it instead
        (pending, {"decided_on": d(2023, 4, 1)}, "outcome"),
        (decided, {"outcome": HearingOutcome.PENDING}, "outcome"),
        (decided, {"outcome": HearingOutcome.ADJOURNED}, "outcome"),  # a sentence names it
        (decided, {"decided_on": d(2023, 2, 28)}, "decided_on"),  # before the hearing
        (decided, {"scheduled_at": at(2023, 3, 2, 9)}, "scheduled_at"),  # after the sentence
        (decided, {"scheduled_at": at(2022, 12, 1)}, "scheduled_at"),  # before committal
        (with_status, {"outcome": HearingOutcome.REMAND_EXTENDED}, "outcome"),  # appealing
        (with_status, {"decided_on": d(2023, 5, 2)}, "decided_on"),  # set the status
        (pending, {"kind": "party"}, "kind"),
        (pending, {"court": ""}, "court"),
        (pending, {"court": "TPI Oujda", "case_number": "2023/1"}, None),  # nothing changed
    ]
    for hearing, changes, field in cases:
        with pytest.raises(DomainError) as exc:
            services.hearing_correct(actor=officer, hearing=hearing, reason=REASON, **changes)
        assert exc.value.field == field, (changes, exc.value.message)
    with pytest.raises(ConflictError) as exc:  # the same court and moment as another one
        services.hearing_correct(
            actor=officer, hearing=pending, scheduled_at=at(2023, 3, 1, 9), reason=REASON
        )
    assert exc.value.code == "duplicate"
    assert _everything() == before


def test_only_the_institution_holding_the_prisoner_with_the_right(lg):
    first, _second = _two_sentences(lg)
    h = _hearing(lg["officer"], lg["custody"])
    before = _everything()
    for actor in (lg["officer_b"], lg["viewer"], lg["central"]):
        with pytest.raises(PermissionDenied):
            services.sentence_correct(actor=actor, sentence=first, years=5, reason=REASON)
        with pytest.raises(PermissionDenied):
            services.hearing_correct(actor=actor, hearing=h, court="X", reason=REASON)
    fx.release(lg["custody"])
    with pytest.raises(ConflictError) as exc:
        services.sentence_correct(actor=lg["officer"], sentence=first, years=5, reason=REASON)
    assert exc.value.code == "not_in_custody"
    assert _everything() == before


def test_after_a_transfer_the_new_institution_corrects_the_old_one_sees_the_file_as_it_was(lg):
    officer = lg["officer"]
    first, _second = _two_sentences(lg)
    h = _decided(officer, lg["custody"])
    new = fx.transfer(lg["custody"], lg["b"])
    with pytest.raises(PermissionDenied):
        services.sentence_correct(actor=officer, sentence=first, years=5, reason=REASON)
    services.sentence_correct(actor=lg["officer_b"], sentence=first, years=3, reason=REASON)
    services.hearing_correct(actor=lg["officer_b"], hearing=h, court="TPI Oujda 2", reason=REASON)
    assert fx.expected(new) == d(2026, 7, 31)
    [entry] = _corrections(first)
    assert entry.facility_id == lg["b"].pk
    old = legal_file(custody=fx.reload(lg["custody"]))
    assert [r.sentence.years for r in old.sentences] == [2, 0]
    assert old.release.expected_release == d(2025, 7, 31)
    assert [x.court for x in old.hearings_past] == ["TPI Oujda"]
    now = legal_file(custody=fx.reload(new))
    assert now.release.expected_release == d(2026, 7, 31)
    assert [x.court for x in now.hearings_past] == ["TPI Oujda 2"]


# -- pages -----------------------------------------------------------------------------------
def _login(client, user, lang="ar"):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    return client


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("fr", ['lang="fr"', "Juridiction", "Années", "Jours imputés"]),
        ("ar", ['dir="rtl"', "المحكمة", "سنوات", "الأيام المخصومة"]),
    ],
)
def test_sentence_page_prefilled_errors_and_success(client, lg, lang, words):
    first, second = _two_sentences(lg)
    _login(client, lg["officer"], lang)
    detail = reverse("inmates:detail", args=[lg["custody"].uuid])
    page = client.get(detail).content.decode()
    url = reverse("inmates:sentence_edit", args=[first.uuid])
    assert f'href="{url}"' in page
    assert f'href="{reverse("inmates:sentence_edit", args=[second.uuid])}"' in page
    r = client.get(url)
    html = r.content.decode()
    assert r.status_code == 200
    for word in words:
        assert word in html
    assert 'name="years" value="2"' in html and 'value="2023-01-31"' in html
    assert 'name="reason"' in html
    form = {
        "court": first.court,
        "case_number": first.case_number,
        "pronounced_on": "2023-03-01",
        "years": "3",
        "months": "2",
        "days": "0",
        "start_date": "2022-12-01",
        "credited_days": "0",
        "reason": REASON,
    }
    before = _everything()
    r = client.post(url, form)
    assert r.status_code == 400
    html = r.content.decode()
    assert "2023-01-10" in html  # the committal date, in the message next to the start date
    assert 'name="years" value="3"' in html  # what was typed is kept
    assert _everything() == before
    r = client.post(url, {**form, "start_date": "2023-01-31", "reason": ""})
    assert r.status_code == 400 and _everything() == before
    r = client.post(url, {**form, "start_date": "2023-01-31"})
    assert r.status_code == 302 and r["Location"] == f"{detail}#legal"
    assert fx.expected(lg["custody"]) == d(2026, 9, 30)
    page = client.get(detail).content.decode()
    assert 'class="messages"' in page


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_hearing_page_prefilled_and_saved(client, lg, lang):
    h = _decided(lg["officer"], lg["custody"])
    pending = _hearing(lg["officer"], lg["custody"], when=at(2023, 4, 1))
    _login(client, lg["officer"], lang)
    url = reverse("inmates:hearing_edit", args=[h.uuid])
    page = client.get(reverse("inmates:detail", args=[lg["custody"].uuid])).content.decode()
    assert f'href="{url}"' in page
    assert f'href="{reverse("inmates:hearing_edit", args=[pending.uuid])}"' in page
    html = client.get(url).content.decode()
    assert 'value="TPI Oujda"' in html and 'value="2023-03-01T09:00"' in html
    assert 'name="outcome"' in html and 'name="decided_on"' in html
    pending_html = client.get(reverse("inmates:hearing_edit", args=[pending.uuid])).content
    assert b'name="outcome"' not in pending_html
    form = {
        "kind": "trial",
        "court": "TPI Berkane",
        "case_number": "2023/1",
        "scheduled_at": "2023-03-01T09:00",
        "outcome": "convicted",
        "decided_on": "2023-02-01",
        "notes": "",
        "reason": REASON,
    }
    before = _everything()
    r = client.post(url, form)
    assert r.status_code == 400 and _everything() == before
    assert "2023-03-01" in r.content.decode()  # "cannot come before the hearing (date)"
    r = client.post(url, {**form, "decided_on": "2023-03-01"})
    assert r.status_code == 302
    h.refresh_from_db()
    assert h.court == "TPI Berkane"
    assert [e.after["reason"] for e in _corrections(h)] == [REASON]


def test_pages_404_for_another_institution_403_without_the_right(client, lg):
    first, _second = _two_sentences(lg)
    h = _hearing(lg["officer"], lg["custody"])
    urls = [
        reverse("inmates:sentence_edit", args=[first.uuid]),
        reverse("inmates:hearing_edit", args=[h.uuid]),
    ]
    body = {"court": "X", "years": "9", "reason": REASON, "kind": "trial"}
    before = _everything()
    _login(client, lg["officer_b"])
    for url in urls:
        assert client.get(url).status_code == 404
        assert client.post(url, body).status_code == 404
    _login(client, lg["viewer"])
    page = client.get(reverse("inmates:detail", args=[lg["custody"].uuid])).content.decode()
    assert urls[0] not in page and urls[1] not in page
    for url in urls:
        assert client.get(url).status_code == 403
        assert client.post(url, body).status_code == 403
    assert _everything() == before


def test_quashed_sentence_page_goes_back(client, lg):
    s = fx.sentence(lg["officer"], lg["custody"], years=1, start_date=d(2023, 3, 1))
    services.sentence_quash(actor=lg["officer"], sentence=s, reason="appel")
    _login(client, lg["officer"], "fr")
    r = client.get(reverse("inmates:sentence_edit", args=[s.uuid]))
    assert r.status_code == 302 and r["Location"].endswith("#legal")
    page = client.get(reverse("inmates:detail", args=[lg["custody"].uuid])).content.decode()
    assert reverse("inmates:sentence_edit", args=[s.uuid]) not in page


# -- API -------------------------------------------------------------------------------------
def _api(user, lang="en") -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    client.credentials(HTTP_ACCEPT_LANGUAGE=lang)
    return client


def test_api_sentence_correction(lg):
    first, second = _two_sentences(lg)
    api = _api(lg["officer"])
    url = f"{BASE}sentences/{first.uuid}/"
    before = _everything()
    r = api.patch(url, {"years": 3}, format="json")
    assert r.status_code == 400 and "reason" in r.json()
    r = api.patch(url, {"start_date": "2022-12-01", "reason": REASON}, format="json")
    assert r.status_code == 400 and r.json()["code"] == "invalid"
    assert r.json()["field"] == "start_date"
    r = api.patch(
        url, {"consecutive_to": str(second.uuid), "start_date": None, "reason": REASON}, "json"
    )
    assert r.status_code == 400 and r.json()["field"] == "consecutive_to"
    assert _everything() == before
    r = api.patch(url, {"years": 3, "months": 2, "reason": REASON}, format="json")
    assert r.status_code == 200, r.json()
    body = r.json()
    assert (body["uuid"], body["years"], body["months"]) == (str(first.uuid), 3, 2)
    assert body["ends_on"] == "2026-03-31"
    assert fx.expected(lg["custody"]) == d(2026, 9, 30)
    r = api.patch(url, {"years": 3, "months": 2, "reason": REASON}, format="json")
    assert r.status_code == 400 and r.json()["code"] == "unchanged"
    r = api.patch(
        f"{BASE}sentences/{second.uuid}/",
        {"consecutive_to": None, "start_date": "2023-03-01", "reason": REASON},
        format="json",
    )
    assert r.status_code == 200 and r.json()["consecutive_to"] is None


def test_api_hearing_correction(lg):
    h = _decided(lg["officer"], lg["custody"])
    api = _api(lg["officer"], "fr")
    url = f"{BASE}hearings/{h.uuid}/"
    r = api.patch(url, {"decided_on": "2023-02-01", "reason": REASON}, format="json")
    assert r.status_code == 400 and r.json()["field"] == "decided_on"
    r = api.patch(
        url,
        {
            "court": "Cour d'appel d'Oujda",
            "scheduled_at": "2023-03-01T11:00:00+01:00",
            "reason": REASON,
        },
        format="json",
    )
    assert r.status_code == 200, r.json()
    assert r.json()["court"] == "Cour d'appel d'Oujda" and r.json()["outcome"] == "convicted"
    assert len(_corrections(h)) == 1


def test_api_scoping_and_rights(lg):
    first, _second = _two_sentences(lg)
    h = _hearing(lg["officer"], lg["custody"])
    quashed = fx.sentence(lg["officer"], lg["custody"], years=1, start_date=d(2023, 3, 1))
    services.sentence_quash(actor=lg["officer"], sentence=quashed, reason="appel")
    urls = [f"{BASE}sentences/{first.uuid}/", f"{BASE}hearings/{h.uuid}/"]
    body = {"court": "X", "reason": REASON}
    before = _everything()
    for url in urls:
        assert _api(lg["officer_b"]).patch(url, body, format="json").status_code == 404
        r = _api(lg["viewer"]).patch(url, body, format="json")
        assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = _api(lg["officer"]).patch(f"{BASE}sentences/{quashed.uuid}/", body, format="json")
    assert r.status_code == 409 and r.json()["code"] == "quashed"
    r = _api(lg["officer"]).patch(f"{BASE}sentences/{uuid.uuid4()}/", body, "json")
    assert r.status_code == 404
    assert _everything() == before
    assert SentenceStatus.QUASHED == Sentence.objects.get(pk=quashed.pk).status
