"""Legal services: hearings and decisions, the legal status over time, sentences and their
checks, quashing, conditional release. Every refusal changes nothing."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connections
from django.db.models import Q
from django.utils import timezone, translation

from idmaj.core.errors import ConflictError, DomainError, PermissionDenied
from idmaj.core.models import AuditEntry
from idmaj.inmates import services
from idmaj.inmates.constants import (
    ConditionalReleaseStatus,
    HearingKind,
    HearingOutcome,
    LegalStatus,
    SentenceStatus,
)
from idmaj.inmates.models import Hearing, LegalStatusPeriod, PardonGrant

from . import legal_fixtures as fx
from .legal_fixtures import *  # noqa: F403
from .legal_fixtures import at, d

TODAY = timezone.localdate()


def _hearing(lg, when=None, **kw) -> Hearing:
    values = {
        "kind": HearingKind.TRIAL,
        "court": "Tribunal de première instance d'Oujda",
        "case_number": "2023/2103/1",
        "scheduled_at": when or at(2023, 3, 1, 9, 30),
    }
    values.update(kw)
    return services.hearing_schedule(actor=lg["officer"], custody=lg["custody"], **values)


# -- hearings --------------------------------------------------------------------------------
def test_hearing_schedule(lg):
    hearing = _hearing(lg, notes="  présenter le dossier  ")
    assert hearing.detention_id == lg["custody"].detention_id
    assert hearing.facility_id == lg["a"].pk
    assert hearing.outcome == HearingOutcome.PENDING
    assert hearing.notes == "présenter le dossier"
    entry = AuditEntry.objects.get(object_id=str(hearing.uuid))
    assert entry.verb == "schedule" and entry.chain == lg["a"].pk
    assert entry.after["custody"] == str(lg["custody"].uuid)
    # an upcoming hearing too
    upcoming = _hearing(lg, when=timezone.now() + dt.timedelta(days=20))
    assert upcoming.outcome == HearingOutcome.PENDING


@pytest.mark.parametrize(
    ("who", "kwargs", "error", "field"),
    [
        ("viewer", {}, PermissionDenied, None),
        ("officer_b", {}, PermissionDenied, None),
        ("officer", {"scheduled_at": at(2023, 1, 9, 18)}, DomainError, "scheduled_at"),
        (
            "officer",
            {"scheduled_at": timezone.now() + dt.timedelta(days=800)},
            DomainError,
            "scheduled_at",
        ),
        ("officer", {"kind": "party"}, DomainError, "kind"),
        ("officer", {"court": "  "}, DomainError, "court"),
    ],
)
def test_hearing_schedule_refused(lg, who, kwargs, error, field):
    before = fx.state()
    values = {"kind": HearingKind.TRIAL, "court": "TPI Oujda", "scheduled_at": at(2023, 3, 1)}
    values.update(kwargs)
    with pytest.raises(error) as exc:
        services.hearing_schedule(actor=lg[who], custody=lg["custody"], **values)
    assert exc.value.field == field
    assert fx.state() == before


def test_hearing_on_the_day_of_the_committal_before_it_is_accepted(lg):
    # presented to the judge in the morning, committed at 10:00 the same day
    assert _hearing(lg, when=at(2023, 1, 10, 8)).pk


def test_same_hearing_twice_refused(lg):
    _hearing(lg)
    before = fx.state()
    with pytest.raises(ConflictError):
        _hearing(lg)
    assert fx.state() == before


def test_nothing_for_a_person_no_longer_in_custody(lg):
    hearing = _hearing(lg)
    fx.release(lg["custody"])
    before = fx.state()
    with pytest.raises(ConflictError) as exc:
        _hearing(lg, when=at(2023, 4, 1))
    assert exc.value.code == "not_in_custody"
    for call in (
        lambda: services.hearing_decide(
            actor=lg["officer"],
            hearing=hearing,
            outcome=HearingOutcome.ADJOURNED,
            decided_on=d(2023, 3, 1),
        ),
        lambda: fx.sentence(lg["officer"], lg["custody"], years=1, start_date=d(2023, 3, 1)),
        lambda: services.legal_status_change(
            actor=lg["officer"],
            custody=lg["custody"],
            status=LegalStatus.CONVICTED,
            at=at(2023, 3, 1),
            reason="x",
        ),
        lambda: services.conditional_release_decide(
            actor=lg["officer"],
            custody=lg["custody"],
            decided_on=d(2023, 5, 1),
            authority="Ministre de la Justice",
            decision_reference="LC-1",
            status=ConditionalReleaseStatus.REFUSED,
        ),
    ):
        with pytest.raises(ConflictError) as exc:
            call()
        assert exc.value.code == "not_in_custody"
    assert fx.state() == before


# -- decisions and the legal status over time ------------------------------------------------
def test_decision_changes_the_legal_status_at_the_hearing(lg):
    custody = lg["custody"]
    hearing = _hearing(lg)
    services.hearing_decide(
        actor=lg["officer"],
        hearing=hearing,
        outcome=HearingOutcome.CONVICTED,
        decided_on=d(2023, 3, 1),
        legal_status_after=LegalStatus.CONVICTED,
        notes="5 ans",
    )
    hearing.refresh_from_db()
    assert (hearing.outcome, hearing.decided_on, hearing.legal_status_after) == (
        HearingOutcome.CONVICTED,
        d(2023, 3, 1),
        LegalStatus.CONVICTED,
    )
    assert fx.reload(custody).legal_status == LegalStatus.CONVICTED
    periods = list(LegalStatusPeriod.objects.filter(custody=custody).order_by("valid_from"))
    assert [p.status for p in periods] == [LegalStatus.REMAND, LegalStatus.CONVICTED]
    # closed and opened at the same moment (the hearing), exactly one open
    assert periods[0].valid_to == periods[1].valid_from == hearing.scheduled_at
    assert periods[1].valid_to is None and fx.open_periods(custody) == 1
    change = AuditEntry.objects.get(verb="legal_status_change", object_id=str(custody.uuid))
    assert change.before == {"legal_status": "remand"}
    assert change.after["legal_status"] == "convicted"
    assert change.after["reason"] == f"hearing:{hearing.uuid}"
    decide = AuditEntry.objects.get(verb="decide", object_id=str(hearing.uuid))
    assert decide.before["outcome"] == "pending" and decide.after["outcome"] == "convicted"


def test_decision_on_a_later_day_takes_effect_at_the_start_of_that_day(lg):
    hearing = _hearing(lg)
    services.hearing_decide(
        actor=lg["officer"],
        hearing=hearing,
        outcome=HearingOutcome.CONVICTED,
        decided_on=d(2023, 3, 15),
        legal_status_after=LegalStatus.CONVICTED,
    )
    period = LegalStatusPeriod.objects.get(custody=lg["custody"], valid_to__isnull=True)
    assert period.valid_from == at(2023, 3, 15, 0, 0)


def test_decision_keeping_the_status_changes_no_period(lg):
    hearing = _hearing(lg)
    services.hearing_decide(
        actor=lg["officer"],
        hearing=hearing,
        outcome=HearingOutcome.REMAND_EXTENDED,
        decided_on=d(2023, 3, 1),
        legal_status_after=LegalStatus.REMAND,
    )
    assert LegalStatusPeriod.objects.filter(custody=lg["custody"]).count() == 1
    assert not AuditEntry.objects.filter(verb="legal_status_change").exists()


@pytest.mark.parametrize(
    ("who", "kwargs", "error", "field"),
    [
        ("viewer", {}, PermissionDenied, None),
        ("officer_b", {}, PermissionDenied, None),
        ("officer", {"decided_on": d(2023, 2, 28)}, DomainError, "decided_on"),
        ("officer", {"decided_on": TODAY + dt.timedelta(days=1)}, DomainError, "decided_on"),
        ("officer", {"outcome": HearingOutcome.PENDING}, DomainError, "outcome"),
        (
            "officer",
            {"outcome": HearingOutcome.REMAND_EXTENDED, "legal_status_after": "convicted"},
            DomainError,
            "legal_status_after",
        ),
        (
            "officer",
            {"outcome": HearingOutcome.APPEAL_LODGED, "legal_status_after": "remand"},
            DomainError,
            "legal_status_after",
        ),
        ("officer", {"legal_status_after": "free"}, DomainError, "legal_status_after"),
    ],
)
def test_decision_refused(lg, who, kwargs, error, field):
    hearing = _hearing(lg)
    before = fx.state()
    values = {
        "outcome": HearingOutcome.CONVICTED,
        "decided_on": d(2023, 3, 1),
        "legal_status_after": LegalStatus.CONVICTED,
    }
    values.update(kwargs)
    with pytest.raises(error) as exc:
        services.hearing_decide(actor=lg[who], hearing=hearing, **values)
    assert exc.value.field == field
    assert fx.state() == before


def test_decision_on_a_decided_hearing_refused(lg):
    hearing = _hearing(lg)
    kwargs = {"outcome": HearingOutcome.ADJOURNED, "decided_on": d(2023, 3, 1)}
    services.hearing_decide(actor=lg["officer"], hearing=hearing, **kwargs)
    before = fx.state()
    with pytest.raises(ConflictError) as exc:
        services.hearing_decide(actor=lg["officer"], hearing=hearing, **kwargs)
    assert exc.value.code == "already_decided"
    assert fx.state() == before


def test_decision_by_the_institution_holding_the_prisoner_now(lg):
    hearing = _hearing(lg)
    now_b = fx.transfer(lg["custody"], lg["b"], at(2023, 2, 1))
    before = fx.state()
    with pytest.raises(PermissionDenied):  # OUJDA2 no longer holds the prisoner
        services.hearing_decide(
            actor=lg["officer"],
            hearing=hearing,
            outcome=HearingOutcome.CONVICTED,
            decided_on=d(2023, 3, 1),
            legal_status_after=LegalStatus.CONVICTED,
        )
    assert fx.state() == before
    services.hearing_decide(
        actor=lg["officer_b"],
        hearing=hearing,
        outcome=HearingOutcome.CONVICTED,
        decided_on=d(2023, 3, 1),
        legal_status_after=LegalStatus.CONVICTED,
    )
    assert fx.reload(now_b).legal_status == LegalStatus.CONVICTED
    # the closed period of OUJDA2 is untouched; SALE2's history changed at the hearing
    assert fx.open_periods(lg["custody"]) == 0
    assert [p.status for p in LegalStatusPeriod.objects.filter(custody=now_b)] == [
        LegalStatus.REMAND,
        LegalStatus.CONVICTED,
    ]
    assert AuditEntry.objects.get(verb="decide").chain == lg["b"].pk


def test_legal_status_change_refusals(lg):
    custody = lg["custody"]
    before = fx.state()
    cases = [
        ({"status": LegalStatus.REMAND}, "same_status"),
        ({"at": at(2023, 1, 9)}, "invalid"),  # before the current status began
        ({"at": timezone.now() + dt.timedelta(hours=1)}, "invalid"),
        ({"reason": " "}, "invalid"),
        ({"status": "free"}, "invalid"),
    ]
    for changes, code in cases:
        kwargs = {"status": LegalStatus.CONVICTED, "at": at(2023, 3, 1), "reason": "jugement"}
        kwargs.update(changes)
        with pytest.raises(DomainError) as exc:
            services.legal_status_change(actor=lg["officer"], custody=custody, **kwargs)
        assert exc.value.code == code, changes
    with pytest.raises(PermissionDenied):
        services.legal_status_change(
            actor=lg["viewer"],
            custody=custody,
            status=LegalStatus.CONVICTED,
            at=at(2023, 3, 1),
            reason="x",
        )
    assert fx.state() == before


def _status_at(moment) -> dict[str, int]:
    """Counts by legal status at ``moment``, as the population pages read them."""
    rows = LegalStatusPeriod.objects.filter(valid_from__lte=moment).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gt=moment)
    )
    out: dict[str, int] = {}
    for status in rows.values_list("status", flat=True):
        out[status] = out.get(status, 0) + 1
    return out


def test_legal_status_history_over_time(lg):
    custody, officer = lg["custody"], lg["officer"]
    steps = [
        (LegalStatus.CONVICTED, at(2023, 3, 1)),
        (LegalStatus.APPEALING, at(2023, 3, 10)),
        (LegalStatus.CONVICTED, at(2023, 9, 20)),
    ]
    for status, moment in steps:
        services.legal_status_change(
            actor=officer, custody=custody, status=status, at=moment, reason="test"
        )
        assert fx.open_periods(custody) == 1
    periods = list(LegalStatusPeriod.objects.filter(custody=custody).order_by("valid_from"))
    assert [p.status for p in periods] == ["remand", "convicted", "appealing", "convicted"]
    for earlier, later in zip(periods, periods[1:], strict=False):
        assert earlier.valid_to == later.valid_from  # no gap, no overlap
    assert fx.reload(custody).legal_status == LegalStatus.CONVICTED
    # the other prisoner stays on remand throughout
    assert _status_at(at(2023, 2, 1)) == {"remand": 2}
    assert _status_at(at(2023, 3, 1)) == {"remand": 1, "convicted": 1}  # from that moment on
    assert _status_at(at(2023, 3, 1) - dt.timedelta(seconds=1)) == {"remand": 2}
    assert _status_at(at(2023, 5, 1)) == {"remand": 1, "appealing": 1}
    assert _status_at(at(2024, 1, 1)) == {"remand": 1, "convicted": 1}
    # a change dated before the last one is refused
    with pytest.raises(DomainError):
        services.legal_status_change(
            actor=officer,
            custody=custody,
            status=LegalStatus.APPEALING,
            at=at(2023, 9, 1),
            reason="test",
        )
    assert fx.open_periods(custody) == 1


# -- sentences -------------------------------------------------------------------------------
def test_sentence_of_a_remand_prisoner_convicts_them(lg):
    custody = lg["custody"]
    s = fx.sentence(lg["officer"], custody, years=2, start_date=d(2023, 1, 10))
    assert s.status == SentenceStatus.IN_FORCE and s.facility_id == lg["a"].pk
    custody = fx.reload(custody)
    assert custody.legal_status == LegalStatus.CONVICTED
    assert custody.detention.expected_release == d(2025, 1, 10)
    period = LegalStatusPeriod.objects.get(custody=custody, valid_to__isnull=True)
    assert period.valid_from == at(2023, 3, 1, 0, 0)  # the day it was pronounced
    entry = AuditEntry.objects.get(verb="record", object_id=str(s.uuid))
    assert entry.before == {"expected_release": None, "life_sentence": False}
    assert entry.after["expected_release"] == "2025-01-10" and entry.after["years"] == 2


def test_sentence_of_an_appealing_prisoner_keeps_their_status(lg):
    custody = lg["custody"]
    services.legal_status_change(
        actor=lg["officer"],
        custody=custody,
        status=LegalStatus.APPEALING,
        at=at(2023, 2, 1),
        reason="appel",
    )
    fx.sentence(lg["officer"], custody, years=1, start_date=d(2023, 1, 10))
    assert fx.reload(custody).legal_status == LegalStatus.APPEALING
    assert LegalStatusPeriod.objects.filter(custody=custody).count() == 2


def test_sentence_pronounced_before_the_committal(lg):
    """Arrested on an earlier judgment: the conviction counts from the committal."""
    custody = lg["custody"]
    fx.sentence(
        lg["officer"], custody, pronounced_on=d(2022, 6, 1), years=1, start_date=d(2023, 1, 10)
    )
    period = LegalStatusPeriod.objects.get(custody=custody, valid_to__isnull=True)
    assert period.valid_from == custody.committed_at


def _refusal_cases():
    ok = {"years": 1, "start_date": d(2023, 3, 1)}
    return [
        ({"years": 0}, "years"),
        ({"life": True}, None),  # a life sentence has no length
        ({"years": 101}, "years"),
        ({"days": -1}, "days"),
        ({"years": "x"}, "years"),
        ({"start_date": None}, "start_date"),
        ({"pronounced_on": TODAY + dt.timedelta(days=1)}, "pronounced_on"),
        ({"start_date": TODAY + dt.timedelta(days=1)}, "start_date"),
        ({"start_date": d(2022, 12, 1)}, "start_date"),  # > 30 days before the committal
        # 50 days in detention between committal (10 Jan) and the start (1 March)
        ({"credited_days": 51}, "credited_days"),
        ({"start_date": d(2023, 1, 5), "credited_days": 1}, "credited_days"),
        ({"court": ""}, "court"),
    ], ok


@pytest.mark.parametrize(("changes", "field"), _refusal_cases()[0])
def test_sentence_refused(lg, changes, field):
    before = fx.state()
    kwargs = {**_refusal_cases()[1], **changes}
    with pytest.raises(DomainError) as exc:
        fx.sentence(lg["officer"], lg["custody"], **kwargs)
    assert exc.value.field == field
    assert fx.state() == before


def test_sentence_credited_days_up_to_the_time_in_detention(lg):
    s = fx.sentence(
        lg["officer"], lg["custody"], years=1, start_date=d(2023, 3, 1), credited_days=50
    )
    assert s.credited_days == 50
    assert fx.expected(lg["custody"]) == d(2024, 3, 1) - dt.timedelta(days=50)


def test_consecutive_sentence_refusals(lg):
    officer, custody = lg["officer"], lg["custody"]
    first = fx.sentence(officer, custody, years=1, start_date=d(2023, 3, 1))
    other = fx.sentence(lg["officer_b"], lg["custody_b"], years=1, start_date=d(2023, 3, 1))
    life = fx.sentence(officer, custody, life=True, start_date=d(2023, 3, 1))
    quashed = fx.sentence(officer, custody, years=2, start_date=d(2023, 3, 1))
    services.sentence_quash(actor=officer, sentence=quashed, reason="appel")
    fx.sentence(officer, custody, months=6, consecutive_to=first)
    before = fx.state()
    for changes, field, error in [
        ({"consecutive_to": first, "start_date": d(2023, 3, 1)}, "start_date", DomainError),
        ({"consecutive_to": other}, "consecutive_to", DomainError),  # another detention
        ({"consecutive_to": quashed}, "consecutive_to", DomainError),
        ({"consecutive_to": life}, "consecutive_to", DomainError),
        ({"consecutive_to": first}, "consecutive_to", ConflictError),  # already followed
    ]:
        with pytest.raises(error) as exc:
            fx.sentence(officer, custody, months=3, **changes)
        assert exc.value.field == field, changes
    assert fx.state() == before


def test_sentence_from_a_hearing(lg):
    officer, custody = lg["officer"], lg["custody"]
    hearing = _hearing(lg)
    other = services.hearing_schedule(
        actor=lg["officer_b"],
        custody=lg["custody_b"],
        kind=HearingKind.TRIAL,
        court="TPI Salé",
        scheduled_at=at(2023, 3, 1),
    )
    before = fx.state()
    for h, message in ((hearing, "did not pronounce"), (other, "of this detention")):
        with translation.override("en"):  # the messages read in English
            with pytest.raises(DomainError) as exc:
                fx.sentence(officer, custody, years=1, start_date=d(2023, 3, 1), hearing=h)
            assert exc.value.field == "hearing" and message in str(exc.value.message)
    assert fx.state() == before
    services.hearing_decide(
        actor=officer,
        hearing=hearing,
        outcome=HearingOutcome.CONVICTED,
        decided_on=d(2023, 3, 1),
        legal_status_after=LegalStatus.CONVICTED,
    )
    with pytest.raises(DomainError) as exc:
        fx.sentence(
            officer,
            custody,
            years=1,
            start_date=d(2023, 3, 1),
            hearing=hearing,
            pronounced_on=d(2023, 2, 1),
        )
    assert exc.value.field == "pronounced_on"
    s = fx.sentence(officer, custody, years=1, start_date=d(2023, 3, 1), hearing=hearing)
    assert s.hearing_id == hearing.pk
    # the decision already convicted them: no second change
    assert LegalStatusPeriod.objects.filter(custody=custody).count() == 2


def test_sentence_needs_the_right(lg):
    before = fx.state()
    for who in ("viewer", "officer_b", "central"):
        with pytest.raises(PermissionDenied):
            fx.sentence(lg[who], lg["custody"], years=1, start_date=d(2023, 3, 1))
    assert fx.state() == before


def test_sentence_quash(lg):
    officer, custody = lg["officer"], lg["custody"]
    long = fx.sentence(officer, custody, years=5, start_date=d(2023, 3, 1))
    fx.sentence(officer, custody, years=2, start_date=d(2023, 3, 1))
    assert fx.expected(custody) == d(2028, 3, 1)
    services.sentence_quash(actor=officer, sentence=long, reason="Cour d'appel, arrêt 12/2023")
    long.refresh_from_db()
    assert long.status == SentenceStatus.QUASHED
    assert fx.expected(custody) == d(2025, 3, 1)
    entry = AuditEntry.objects.get(verb="quash")
    assert entry.before["status"] == "in_force" and entry.after["status"] == "quashed"
    assert entry.before["expected_release"] == "2028-03-01"
    assert entry.after["expected_release"] == "2025-03-01"
    assert entry.after["reason"] == "Cour d'appel, arrêt 12/2023"
    before = fx.state()
    with pytest.raises(ConflictError) as exc:
        services.sentence_quash(actor=officer, sentence=long, reason="again")
    assert exc.value.code == "already_quashed"
    assert fx.state() == before


def test_sentence_quash_refusals(lg):
    officer, custody = lg["officer"], lg["custody"]
    first = fx.sentence(officer, custody, years=1, start_date=d(2023, 3, 1))
    fx.sentence(officer, custody, months=6, consecutive_to=first)
    before = fx.state()
    with pytest.raises(ConflictError) as exc:
        services.sentence_quash(actor=officer, sentence=first, reason="appel")
    assert exc.value.code == "followed"
    with pytest.raises(DomainError) as exc:
        services.sentence_quash(actor=officer, sentence=first, reason=" ")
    assert exc.value.field == "reason"
    with pytest.raises(PermissionDenied):
        services.sentence_quash(actor=lg["viewer"], sentence=first, reason="appel")
    assert fx.state() == before


# -- conditional release ---------------------------------------------------------------------
def _cr(lg, custody=None, **kw):
    values = {
        "decided_on": d(2024, 6, 1),
        "authority": "Ministre de la Justice",
        "decision_reference": "LC-2024-17",
        "status": ConditionalReleaseStatus.GRANTED,
        "release_on": d(2024, 6, 15),
        "supervision_until": d(2025, 3, 1),
        "conditions": "Résider à Oujda; se présenter chaque mois.",
    }
    values.update(kw)
    return services.conditional_release_decide(
        actor=lg["officer"], custody=custody or lg["custody"], **values
    )


def test_conditional_release_granted_revoked(lg):
    custody = lg["custody"]
    fx.sentence(lg["officer"], custody, years=2, start_date=d(2023, 3, 1))
    assert fx.expected(custody) == d(2025, 3, 1)
    decision = _cr(lg)
    assert fx.expected(custody) == d(2024, 6, 15)
    entry = AuditEntry.objects.get(object_id=str(decision.uuid))
    assert entry.verb == "conditional_release_granted"
    assert entry.after["expected_release"] == "2024-06-15"
    # a refusal afterwards leaves the grant standing
    _cr(
        lg,
        decision_reference="LC-2024-18",
        status=ConditionalReleaseStatus.REFUSED,
        release_on=None,
        supervision_until=None,
        decided_on=d(2024, 6, 2),
    )
    assert fx.expected(custody) == d(2024, 6, 15)
    # revoked: the sentence is served to its end
    _cr(
        lg,
        decision_reference="LC-2024-19",
        status=ConditionalReleaseStatus.REVOKED,
        release_on=None,
        supervision_until=None,
        decided_on=d(2024, 6, 10),
    )
    assert fx.expected(custody) == d(2025, 3, 1)


def test_conditional_release_later_than_the_sentence_changes_nothing(lg):
    custody = lg["custody"]
    fx.sentence(lg["officer"], custody, years=1, start_date=d(2023, 3, 1))
    _cr(lg, release_on=d(2024, 6, 15), supervision_until=None)
    assert fx.expected(custody) == d(2024, 3, 1)


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"release_on": None}, "invalid", "release_on"),
        ({"release_on": d(2024, 5, 1)}, "invalid", "release_on"),  # before the decision
        ({"supervision_until": d(2024, 6, 1)}, "invalid", "supervision_until"),
        ({"decided_on": TODAY + dt.timedelta(days=1)}, "invalid", "decided_on"),
        ({"decided_on": d(2023, 1, 1), "release_on": d(2023, 2, 1)}, "invalid", "decided_on"),
        ({"status": "maybe"}, "invalid", "status"),
        ({"status": ConditionalReleaseStatus.REFUSED}, "invalid", "release_on"),
        (
            {
                "status": ConditionalReleaseStatus.REVOKED,
                "release_on": None,
                "supervision_until": None,
            },
            "nothing_to_revoke",
            "status",
        ),
        ({"authority": ""}, "invalid", "authority"),
    ],
)
def test_conditional_release_refused(lg, changes, code, field):
    fx.sentence(lg["officer"], lg["custody"], years=2, start_date=d(2023, 3, 1))
    before = fx.state()
    with pytest.raises(DomainError) as exc:
        _cr(lg, **changes)
    assert (exc.value.code, exc.value.field) == (code, field)
    assert fx.state() == before


def test_conditional_release_refused_on_remand_appeal_life_or_twice(lg):
    custody = lg["custody"]
    before = fx.state()
    with pytest.raises(DomainError) as exc:  # on remand
        _cr(lg)
    assert exc.value.code == "not_convicted"
    assert fx.state() == before
    services.legal_status_change(
        actor=lg["officer"],
        custody=custody,
        status=LegalStatus.APPEALING,
        at=at(2023, 2, 1),
        reason="appel",
    )
    before = fx.state()
    with pytest.raises(DomainError) as exc:
        _cr(lg)
    assert exc.value.code == "not_convicted"
    assert fx.state() == before
    services.legal_status_change(
        actor=lg["officer"],
        custody=custody,
        status=LegalStatus.CONVICTED,
        at=at(2023, 2, 2),
        reason="arrêt",
    )
    with pytest.raises(DomainError) as exc:  # convicted, but no sentence recorded
        _cr(lg)
    assert exc.value.code == "no_sentence"
    fx.sentence(lg["officer"], custody, life=True, start_date=d(2023, 3, 1))
    before = fx.state()
    with pytest.raises(DomainError) as exc:
        _cr(lg)
    assert exc.value.code == "life_sentence"
    assert fx.state() == before
    # commuted by royal pardon to 20 years: now possible
    dec = fx.decree(lg["central"])
    fx.apply(lg["central"], dec, "OUJDA2-2023-000001;commutation;20")
    assert fx.expected(custody) == d(2043, 3, 1)
    _cr(lg, decided_on=d(2024, 8, 1), release_on=d(2024, 9, 1), supervision_until=None)
    assert fx.expected(custody) == d(2024, 9, 1)
    before = fx.state()
    with pytest.raises(ConflictError) as exc:  # the same decision twice
        _cr(lg, decided_on=d(2024, 8, 1), release_on=d(2024, 9, 1), supervision_until=None)
    assert exc.value.code == "duplicate"
    assert fx.state() == before


# -- concurrency -----------------------------------------------------------------------------
def _race(n, target):
    barrier = threading.Barrier(n)
    results, errors = [], []

    def run(i):
        try:
            barrier.wait(timeout=10)
            results.append(target(i))
        except Exception as exc:  # noqa: BLE001 - collected and asserted on by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results, errors


@pytest.mark.django_db(transaction=True)
def test_one_decision_when_officers_decide_at_once(two_facilities, make_user):
    a = two_facilities["a"]
    officers = [make_user(f"racer{i}", "registry_officer", facility=a) for i in range(4)]
    custody = fx.prisoner(a, "OUJDA2-2023-000001")
    hearing = services.hearing_schedule(
        actor=officers[0],
        custody=custody,
        kind=HearingKind.TRIAL,
        court="TPI Oujda",
        scheduled_at=at(2023, 3, 1),
    )
    outcomes = [HearingOutcome.CONVICTED, HearingOutcome.APPEAL_LODGED] * 2
    status = [LegalStatus.CONVICTED, LegalStatus.APPEALING] * 2

    def decide(i):
        return services.hearing_decide(
            actor=officers[i],
            hearing=hearing,
            outcome=outcomes[i],
            decided_on=d(2023, 3, 1),
            legal_status_after=status[i],
        )

    results, errors = _race(4, decide)
    assert len(results) == 1 and len(errors) == 3
    assert all(isinstance(e, ConflictError) and e.code == "already_decided" for e in errors)
    assert LegalStatusPeriod.objects.filter(custody=custody).count() == 2
    assert fx.open_periods(custody) == 1
    assert AuditEntry.objects.filter(verb="decide").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_decree_applies_once_when_officers_apply_it_at_once(two_facilities, make_user):
    a = two_facilities["a"]
    officers = [make_user(f"racer{i}", "registry_officer", facility=a) for i in range(4)]
    custody = fx.prisoner(a, "OUJDA2-2023-000001")
    fx.sentence(officers[0], custody, years=5, start_date=d(2023, 3, 1))
    dec = fx.decree(officers[0])

    def apply(i):
        return fx.apply(officers[i], dec, "OUJDA2-2023-000001;reduction;30")

    results, errors = _race(4, apply)
    assert len(results) == 1 and len(errors) == 3
    assert all(isinstance(e, DomainError) for e in errors)
    assert PardonGrant.objects.count() == 1
    assert fx.expected(custody) == d(2028, 3, 1) - dt.timedelta(days=30)
