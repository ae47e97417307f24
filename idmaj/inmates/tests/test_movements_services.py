"""Movements services: transfer, temporary absences, release, escape and death in custody.
Every refusal leaves the database as it was (``fx.state()``)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation
from hypothesis import given
from hypothesis import strategies as st

from idmaj.core.errors import ConflictError, DomainError, PermissionDenied
from idmaj.core.models import AuditEntry, Notification
from idmaj.inmates import selectors
from idmaj.inmates.constants import (
    CustodyStatus,
    DetentionEnd,
    LegalStatus,
    MovementKind,
    PropertyStatus,
)
from idmaj.inmates.models import (
    CellAssignment,
    CellOccupancy,
    ConditionalRelease,
    CustodyIncident,
    CustodyPeriod,
    LegalStatusPeriod,
    Movement,
    PardonDecree,
    PardonGrant,
    ReleaseRecord,
)
from idmaj.inmates.services import (
    RELEASE_CHECKLIST,
    inmate_admit,
    inmate_death_record,
    inmate_escape_record,
    inmate_release,
    inmate_transfer,
    release_checklist_missing,
    temporary_absence_end,
    temporary_absence_start,
)
from idmaj.inmates.services import movements as movement_services

from . import movements_fixtures as fx
from .factories import CustodyPeriodFactory, OffenceFactory, committal_data
from .movements_fixtures import *  # noqa: F403

ago = fx.ago


def _transfer(w, *, who="registry.oujda2", custody=None, **overrides):
    kwargs = {
        "custody": custody or w["custody"],
        "to_facility": w["b"],
        "at": ago(hours=2),
        "reason": "Rapprochement familial",
        "escort": "Gendarmerie royale",
        "authority_reference": "DGAPR/T/2026/118",
    }
    kwargs.update(overrides)
    return inmate_transfer(actor=fx.user(w, who), **kwargs)


def _absence(w, *, who="registry.oujda2", custody=None, **overrides):
    kwargs = {
        "custody": custody or w["custody"],
        "kind": MovementKind.COURT,
        "out_at": ago(hours=3),
        "expected_back_at": ago(hours=3) + dt.timedelta(hours=6),
        "destination": "Cour d'appel d'Oujda",
        "reason": "Audience",
        "escort": "Police",
        "authority_reference": "EXT-2026-7",
    }
    kwargs.update(overrides)
    return temporary_absence_start(actor=fx.user(w, who), **kwargs)


def _release(w, *, who="registry.oujda2", custody=None, **overrides):
    kwargs = {
        "custody": custody or w["custody"],
        "reason": DetentionEnd.ACQUITTAL,
        "at": ago(hours=1),
        "authority": "Tribunal de première instance d'Oujda",
        "decision_reference": "JUG-2026-55",
        "checklist": fx.ALL_TICKED,
        "note": "",
    }
    kwargs.update(overrides)
    return inmate_release(actor=fx.user(w, who), **kwargs)


def _incident_args(**overrides):
    values = {
        "occurred_at": ago(hours=2),
        "place": "Cour de promenade, aile B",
        "circumstances": "Escalade du mur d'enceinte pendant la promenade.",
        "authority_notified": "Procureur du Roi près le TPI d'Oujda",
        "authority_notified_at": ago(hours=1),
    }
    values.update(overrides)
    return values


def _death_args(**overrides):
    values = _incident_args(
        place="Infirmerie",
        circumstances="Trouvé inconscient dans sa cellule à l'appel du matin.",
        cause="Arrêt cardiaque apparent",
        family_notified_at=ago(minutes=30),
        investigation_reference="ENQ-2026-12",
        autopsy_requested=True,
    )
    values.update(overrides)
    return values


# -- transfer --------------------------------------------------------------------------------
def test_transfer_moves_the_file(mv):
    w = mv
    old = w["custody"]
    theft = OffenceFactory(code="VOL")
    old.offences.set([theft])
    at = ago(hours=2)
    new = _transfer(w, at=at)
    year = timezone.localtime(at).year

    old = fx.fresh(old)
    assert old.status == CustodyStatus.TRANSFERRED_OUT and old.released_at == at
    assert old.cell_id is None
    assert new.facility_id == w["b"].pk and new.status == CustodyStatus.IN_CUSTODY
    assert new.committal_number == f"SALE2-{year}-000001"
    assert new.committed_at == at
    assert new.person_id == old.person_id and new.detention_id == old.detention_id
    assert new.transferred_from_id == old.pk
    assert new.committing_authority == "DGAPR"
    assert new.warrant_reference == "DGAPR/T/2026/118"
    assert new.legal_status == old.legal_status
    assert (new.court, new.case_number) == (old.court, old.case_number)
    assert list(new.offences.all()) == [theft]
    assert new.escort == "Gendarmerie royale"
    # legal status: closed here, opened there
    assert LegalStatusPeriod.objects.get(custody=old).valid_to == at
    there = LegalStatusPeriod.objects.get(custody=new)
    assert (there.status, there.valid_from, there.valid_to, there.facility_id) == (
        old.legal_status,
        at,
        None,
        w["b"].pk,
    )
    # cell vacated, property follows
    assert CellAssignment.objects.get(custody=old).ended_at == at
    assert CellOccupancy.objects.get(cell=w["cell"]).occupants == 0
    assert {i.facility_id for i in w["items"] for i in [fx.fresh(i)]} == {w["b"].pk}
    # the movement
    m = Movement.objects.get()
    assert (m.kind, m.facility_id, m.to_facility_id, m.custody_id, m.detention_id) == (
        MovementKind.TRANSFER,
        w["a"].pk,
        w["b"].pk,
        old.pk,
        old.detention_id,
    )
    assert m.out_at == at and m.back_at == at
    assert m.authority_reference == "DGAPR/T/2026/118"
    # audit on both chains
    on_a = list(AuditEntry.objects.filter(chain=w["a"].pk).order_by("seq"))
    on_b = list(AuditEntry.objects.filter(chain=w["b"].pk).order_by("seq"))
    assert [(e.verb, e.object_type) for e in on_a] == [
        ("transfer_out", "inmates.custodyperiod"),
        ("transfer", "inmates.movement"),
    ]
    assert on_a[0].after["status"] == "transferred_out" and on_a[0].after["to_facility"] == "SALE2"
    assert [(e.verb, e.object_type, e.object_id) for e in on_b] == [
        ("transfer_in", "inmates.custodyperiod", str(new.uuid))
    ]
    assert on_b[0].after["transferred_from"] == "OUJDA2-2026-000900"
    assert on_b[0].after["property_items_moved"] == 2
    assert on_b[0].after["offences"] == ["VOL"]


def test_transfer_with_authority_and_onwards(mv):
    w = mv
    new = _transfer(w, authority="Procureur général, Cour d'appel de Rabat", at=ago(hours=5))
    assert new.committing_authority == "Procureur général, Cour d'appel de Rabat"
    back = _transfer(w, who="registry.sale2", custody=new, to_facility=w["a"], at=ago(hours=1))
    assert back.transferred_from_id == new.pk and back.facility_id == w["a"].pk
    assert back.committal_number.startswith("OUJDA2-")
    assert CustodyPeriod.objects.filter(status=CustodyStatus.IN_CUSTODY).count() == 1


@pytest.mark.parametrize(
    ("case", "error", "code", "field"),
    [
        ("viewer", PermissionDenied, "forbidden", None),
        ("other_institution", PermissionDenied, "forbidden", None),
        ("same", DomainError, "same_facility", "to_facility"),
        ("closed", DomainError, "facility_not_operating", "to_facility"),
        ("planned", DomainError, "facility_not_operating", "to_facility"),
        ("future", DomainError, "invalid", "at"),
        ("before_committal", DomainError, "invalid", "at"),
        ("before_cell_move", DomainError, "invalid", "at"),
        ("no_reference", DomainError, "required", "authority_reference"),
        ("no_reason", DomainError, "required", "reason"),
        ("absent", ConflictError, "out_on_absence", None),
        ("released", ConflictError, "not_in_custody", None),
    ],
)
def test_transfer_refused_changes_nothing(mv, case, error, code, field):
    w = mv
    kwargs: dict = {}
    who = "registry.oujda2"
    if case == "viewer":
        who = "viewer.oujda2"
    elif case == "other_institution":
        who = "registry.sale2"
    elif case == "same":
        kwargs["to_facility"] = w["a"]
    elif case == "closed":
        kwargs["to_facility"] = w["c"]
    elif case == "planned":
        kwargs["to_facility"] = w["d"]
    elif case == "future":
        kwargs["at"] = timezone.now() + dt.timedelta(hours=2)
    elif case == "before_committal":
        kwargs["at"] = w["custody"].committed_at - dt.timedelta(minutes=1)
    elif case == "before_cell_move":
        CellAssignment.objects.filter(custody=w["custody"]).update(started_at=ago(hours=1))
        kwargs["at"] = ago(hours=2)
    elif case == "no_reference":
        kwargs["authority_reference"] = "  "
    elif case == "no_reason":
        kwargs["reason"] = ""
    elif case == "absent":
        _absence(w)
    elif case == "released":
        _release(w)
    before = fx.state()
    with pytest.raises(error) as exc:
        _transfer(w, who=who, **kwargs)
    assert exc.value.code == code and exc.value.field == field
    assert fx.state() == before


def test_transfer_refusal_names_the_date(mv):
    with translation.override("fr"), pytest.raises(DomainError) as exc:
        _transfer(mv, to_facility=mv["c"])
    assert "CLOSED1" in str(exc.value.message)


def test_transfer_to_an_institution_under_renovation(mv):
    from idmaj.facilities.constants import FacilityStatus
    from idmaj.facilities.tests.factories import FacilityFactory, StatusPeriodFactory

    reno = FacilityFactory(code="RENO1")
    StatusPeriodFactory(
        facility=reno, status=FacilityStatus.UNDER_RENOVATION, since=dt.date(2001, 1, 1)
    )
    assert _transfer(mv, to_facility=reno).facility_id == reno.pk


def test_transfer_scoping(mv):
    """The sending institution keeps its closed period and the movement, not the new file;
    the receiving one sees the new file and the movement, not the old period."""
    w = mv
    old = w["custody"]
    new = _transfer(w)
    sender, receiver = fx.user(w, "registry.oujda2"), fx.user(w, "registry.sale2")
    from django.http import Http404

    assert selectors.get_custody_for_user_or_404(user=sender, uuid=old.uuid) == old
    with pytest.raises(Http404):
        selectors.get_custody_for_user_or_404(user=sender, uuid=new.uuid)
    assert selectors.get_custody_for_user_or_404(user=receiver, uuid=new.uuid) == new
    with pytest.raises(Http404):
        selectors.get_custody_for_user_or_404(user=receiver, uuid=old.uuid)
    movement = Movement.objects.get()
    for user, file in ((sender, old), (receiver, new)):
        rows = selectors.movements_with_files(
            selectors.movement_list(fetched_by=user), fetched_by=user
        )
        assert [m.pk for m in rows] == [movement.pk]
        assert rows[0].file == file
    # each side's custody page lists the movement
    assert [m.pk for m in selectors.custody_movement_list(fetched_by=receiver, custody=new)] == [
        movement.pk
    ]
    assert [m.pk for m in selectors.custody_movement_list(fetched_by=sender, custody=old)] == [
        movement.pk
    ]
    origin = selectors.transfer_origin(custody=new)
    assert origin.committal_number == "OUJDA2-2026-000900" and origin.facility == w["a"]
    # a third institution sees nothing of it
    from idmaj.facilities.tests.factories import FacilityFactory

    third = FacilityFactory(code="THIRD1")
    outsider = fx.user(w, "viewer.oujda2")
    outsider.assignments.all().delete()
    from idmaj.core.tests.factories import grant

    grant(outsider, "registry_officer", facility=third)
    assert list(selectors.movement_list(fetched_by=outsider)) == []


def test_population_before_and_after_a_transfer(mv):
    w = mv
    at = ago(hours=2)
    _transfer(w, at=at)
    ids = [w["a"].pk, w["b"].pk]
    assert selectors.population_at(ids, at - dt.timedelta(minutes=1)) == {
        w["a"].pk: 1,
        w["b"].pk: 0,
    }
    # at the moment itself the person is counted once, at the destination
    assert selectors.population_at(ids, at) == {w["a"].pk: 0, w["b"].pk: 1}
    assert selectors.population_at(ids, timezone.now()) == {w["a"].pk: 0, w["b"].pk: 1}


# -- temporary absences ----------------------------------------------------------------------
def test_absence_out_and_back(mv):
    w = mv
    m = _absence(w)
    assert (m.kind, m.facility_id, m.custody_id, m.back_at, m.to_facility_id) == (
        MovementKind.COURT,
        w["a"].pk,
        w["custody"].pk,
        None,
        None,
    )
    assert [a.pk for a in selectors.absences_out_now(fetched_by=fx.user(w, "viewer.oujda2"))] == [
        m.pk
    ]
    # still on the roll: counted in the population, keeps the cell
    assert selectors.population_at([w["a"].pk], timezone.now()) == {w["a"].pk: 1}
    assert fx.fresh(w["custody"]).cell_id == w["cell"].pk
    back = ago(minutes=30)
    done = temporary_absence_end(actor=fx.user(w, "registry.oujda2"), movement=m, back_at=back)
    assert done.back_at == back
    assert list(selectors.absences_out_now(fetched_by=fx.user(w, "viewer.oujda2"))) == []
    verbs = list(AuditEntry.objects.order_by("seq").values_list("verb", "chain"))
    assert verbs == [("absence_out", w["a"].pk), ("absence_back", w["a"].pk)]
    # another absence may start after the return
    _absence(w, kind=MovementKind.HOSPITAL, out_at=ago(minutes=10), expected_back_at=None)


@pytest.mark.parametrize(
    ("case", "error", "code", "field"),
    [
        ("viewer", PermissionDenied, "forbidden", None),
        ("other_institution", PermissionDenied, "forbidden", None),
        ("transfer_kind", DomainError, "invalid", "kind"),
        ("back_before_out", DomainError, "invalid", "expected_back_at"),
        ("no_destination", DomainError, "required", "destination"),
        ("future", DomainError, "invalid", "out_at"),
        ("before_committal", DomainError, "invalid", "out_at"),
        ("already_out", ConflictError, "already_out", None),
        ("released", ConflictError, "not_in_custody", None),
    ],
)
def test_absence_start_refused_changes_nothing(mv, case, error, code, field):
    w = mv
    kwargs: dict = {}
    who = "registry.oujda2"
    if case == "viewer":
        who = "viewer.oujda2"
    elif case == "other_institution":
        who = "registry.sale2"
    elif case == "transfer_kind":
        kwargs["kind"] = MovementKind.TRANSFER
    elif case == "back_before_out":
        kwargs["expected_back_at"] = ago(hours=4)
    elif case == "no_destination":
        kwargs["destination"] = " "
    elif case == "future":
        kwargs["out_at"] = timezone.now() + dt.timedelta(hours=1)
        kwargs["expected_back_at"] = None
    elif case == "before_committal":
        kwargs["out_at"] = w["custody"].committed_at - dt.timedelta(hours=1)
    elif case == "already_out":
        _absence(w)
        kwargs["out_at"] = ago(hours=1)
    elif case == "released":
        _release(w)
    before = fx.state()
    with pytest.raises(error) as exc:
        _absence(w, who=who, **kwargs)
    assert exc.value.code == code and exc.value.field == field
    assert fx.state() == before


def test_one_open_absence_even_when_the_check_is_raced(mv, monkeypatch):
    """Two officers at the same moment: the lock serialises them; should the check ever
    miss, the database constraint answers with the same clear error."""
    _absence(mv)
    monkeypatch.setattr(movement_services, "_refuse_already_out", lambda custody: None)
    before = fx.state()
    with pytest.raises(ConflictError) as exc:
        _absence(mv, out_at=ago(hours=1))
    assert exc.value.code == "already_out"
    assert fx.state() == before


@pytest.mark.parametrize(
    ("case", "error", "code"),
    [
        ("other_institution", PermissionDenied, "forbidden"),
        ("viewer", PermissionDenied, "forbidden"),
        ("before_out", DomainError, "invalid"),
        ("future", DomainError, "invalid"),
        ("twice", ConflictError, "already_back"),
    ],
)
def test_absence_end_refused_changes_nothing(mv, case, error, code):
    w = mv
    m = _absence(w)
    who, back_at = "registry.oujda2", ago(hours=1)
    if case == "other_institution":
        who = "registry.sale2"
    elif case == "viewer":
        who = "viewer.oujda2"
    elif case == "before_out":
        back_at = ago(hours=4)
    elif case == "future":
        back_at = timezone.now() + dt.timedelta(hours=1)
    elif case == "twice":
        temporary_absence_end(actor=fx.user(w, who), movement=m, back_at=ago(hours=2))
    before = fx.state()
    with pytest.raises(error) as exc:
        temporary_absence_end(actor=fx.user(w, who), movement=m, back_at=back_at)
    assert exc.value.code == code
    assert fx.state() == before


def test_out_now_flags_overdue_returns_per_institution(mv):
    w = mv
    late = _absence(w, out_at=ago(hours=10), expected_back_at=ago(hours=2))
    other = CustodyPeriodFactory(facility=w["b"], committed_at=ago(days=5))
    on_time = _absence(
        w,
        who="registry.sale2",
        custody=other,
        kind=MovementKind.HOSPITAL,
        out_at=ago(hours=1),
        expected_back_at=timezone.now() + dt.timedelta(hours=3),
        destination="CHU Ibn Sina",
    )
    rows = {
        m.pk: m.overdue for m in selectors.absences_out_now(fetched_by=fx.user(w, "viewer.oujda2"))
    }
    assert rows == {late.pk: True}
    national = fx.user(w, "director.sale2")
    assert {m.pk: m.overdue for m in selectors.absences_out_now(fetched_by=national)} == {
        on_time.pk: False
    }
    assert list(selectors.absences_out_now(fetched_by=national, facility=w["a"])) == []


# -- release ---------------------------------------------------------------------------------
def test_release_end_of_sentence(mv):
    w = mv
    detention = w["custody"].detention
    detention.expected_release = timezone.localdate()
    detention.save(update_fields=["expected_release"])
    at = ago(minutes=5)
    record = _release(
        w, reason=DetentionEnd.END_OF_SENTENCE, at=at, authority="", decision_reference=""
    )
    year = timezone.localtime(at).year
    assert record.certificate_number == f"OUJDA2-L-{year}-000001"
    assert record.reason == DetentionEnd.END_OF_SENTENCE and record.released_at == at
    assert record.checklist["property_returned"] is True
    assert record.checklist["medical_summary_offered"] is False
    custody = fx.fresh(w["custody"])
    assert custody.status == CustodyStatus.RELEASED and custody.released_at == at
    assert custody.cell_id is None
    detention.refresh_from_db()
    assert detention.ended_at == at and detention.end_reason == DetentionEnd.END_OF_SENTENCE
    assert LegalStatusPeriod.objects.get(custody=custody).valid_to == at
    assert CellOccupancy.objects.get(cell=w["cell"]).occupants == 0
    for item in w["items"]:
        item.refresh_from_db()
        assert item.status == PropertyStatus.RETURNED
        assert item.closed_at == at and item.recipient == "يوسف الإدريسي"
    entries = list(AuditEntry.objects.order_by("seq").values_list("verb", "object_type", "chain"))
    assert entries == [
        ("release", "inmates.custodyperiod", w["a"].pk),
        ("release", "inmates.releaserecord", w["a"].pk),
    ]
    assert AuditEntry.objects.last().after["property_items_returned"] == 2
    assert selectors.population_at([w["a"].pk], timezone.now()) == {w["a"].pk: 0}


def test_certificate_numbers_follow_each_other(mv):
    w = mv
    first = _release(w)
    other = CustodyPeriodFactory(facility=w["a"], committed_at=ago(days=3))
    second = _release(w, custody=other)
    elsewhere = _release(
        w,
        who="registry.sale2",
        custody=CustodyPeriodFactory(facility=w["b"], committed_at=ago(days=3)),
    )
    year = timezone.localdate().year
    assert [first.certificate_number, second.certificate_number] == [
        f"OUJDA2-L-{year}-000001",
        f"OUJDA2-L-{year}-000002",
    ]
    assert elsewhere.certificate_number == f"SALE2-L-{year}-000001"


def _grant_pardon(detention, facility, kind="release"):
    decree = PardonDecree.objects.create(
        reference=f"DEC-{kind}", occasion="Fête du Trône", signed_on=timezone.localdate()
    )
    return PardonGrant.objects.create(
        decree=decree, detention=detention, facility=facility, kind=kind, applied_at=ago(days=1)
    )


def _conditional(detention, facility, *, status="granted", release_on=None):
    return ConditionalRelease.objects.create(
        detention=detention,
        facility=facility,
        decided_on=timezone.localdate(),
        authority="Commission de la libération conditionnelle",
        decision_reference="LC-2026-9",
        status=status,
        release_on=release_on,
    )


@pytest.mark.parametrize(
    "reason",
    [
        DetentionEnd.PARDON,
        DetentionEnd.ACQUITTAL,
        DetentionEnd.PROVISIONAL_RELEASE,
        DetentionEnd.CONDITIONAL_RELEASE,
        DetentionEnd.OTHER_RELEASE,
    ],
)
def test_release_by_decision(mv, reason):
    w = mv
    detention = w["custody"].detention
    if reason == DetentionEnd.PARDON:
        _grant_pardon(detention, w["a"])
    if reason == DetentionEnd.CONDITIONAL_RELEASE:
        _conditional(detention, w["a"], release_on=timezone.localdate())
    record = _release(w, reason=reason)
    assert record.reason == reason and record.decision_reference == "JUG-2026-55"
    detention.refresh_from_db()
    assert detention.end_reason == reason


def test_release_without_property_needs_no_property_tick(mv):
    w = mv
    for item in w["items"]:
        item.delete()
    record = _release(w, checklist=[c for c in fx.ALL_TICKED if c != "property_returned"])
    assert record.checklist["property_returned"] is False


def test_checklist_is_data():
    codes = [item.code for item in RELEASE_CHECKLIST]
    assert len(codes) == len(set(codes)) >= 6
    required = {item.code for item in RELEASE_CHECKLIST if item.required}
    assert {"identity_verified", "order_checked", "documents_handed_over"} <= required
    assert "medical_summary_offered" not in required and "family_informed" not in required
    missing = release_checklist_missing({}, property_kept=True)
    assert {i.code for i in missing} == required | {"property_returned"}
    assert release_checklist_missing(fx.ALL_TICKED, property_kept=True) == []
    with translation.override("ar"):
        assert all(str(item.label) for item in RELEASE_CHECKLIST)


@pytest.mark.parametrize(
    ("case", "error", "code", "field"),
    [
        ("viewer", PermissionDenied, "forbidden", None),
        ("other_institution", PermissionDenied, "forbidden", None),
        ("security_officer", PermissionDenied, "forbidden", None),
        ("bad_reason", DomainError, "invalid", "reason"),
        ("escape_reason", DomainError, "invalid", "reason"),
        ("future", DomainError, "invalid", "at"),
        ("before_committal", DomainError, "invalid", "at"),
        ("absent", ConflictError, "out_on_absence", None),
        ("before_release_date", DomainError, "before_release_date", "at"),
        ("no_release_date", DomainError, "no_release_date", "reason"),
        ("life", DomainError, "no_release_date", "reason"),
        ("no_authority", DomainError, "required", "authority"),
        ("no_decision_reference", DomainError, "required", "decision_reference"),
        ("conditional_missing", DomainError, "no_decision", "reason"),
        ("conditional_refused", DomainError, "no_decision", "reason"),
        ("conditional_too_early", DomainError, "before_release_date", "at"),
        ("pardon_missing", DomainError, "no_decision", "reason"),
        ("pardon_reduction_only", DomainError, "no_decision", "reason"),
        ("checklist_incomplete", DomainError, "checklist_incomplete", "checklist"),
        ("property_not_returned", DomainError, "checklist_incomplete", "checklist"),
        ("unknown_item", DomainError, "invalid", "checklist"),
        ("twice", ConflictError, "not_in_custody", None),
    ],
)
def test_release_refused_changes_nothing(mv, case, error, code, field):
    w = mv
    detention = w["custody"].detention
    kwargs: dict = {}
    who = "registry.oujda2"
    if case == "viewer":
        who = "viewer.oujda2"
    elif case == "other_institution":
        who = "registry.sale2"
    elif case == "security_officer":
        who = "security.oujda2"
    elif case == "bad_reason":
        kwargs["reason"] = "holiday"
    elif case == "escape_reason":
        kwargs["reason"] = DetentionEnd.ESCAPE
    elif case == "future":
        kwargs["at"] = timezone.now() + dt.timedelta(hours=1)
    elif case == "before_committal":
        kwargs["at"] = w["custody"].committed_at - dt.timedelta(hours=1)
    elif case == "absent":
        _absence(w)
    elif case in ("before_release_date", "no_release_date", "life"):
        kwargs.update(reason=DetentionEnd.END_OF_SENTENCE)
        if case == "before_release_date":
            detention.expected_release = timezone.localdate() + dt.timedelta(days=3)
        if case == "life":
            detention.life_sentence = True
        detention.save()
    elif case == "no_authority":
        kwargs["authority"] = ""
    elif case == "no_decision_reference":
        kwargs["decision_reference"] = " "
    elif case == "conditional_missing":
        kwargs["reason"] = DetentionEnd.CONDITIONAL_RELEASE
    elif case == "conditional_refused":
        _conditional(detention, w["a"], status="refused")
        kwargs["reason"] = DetentionEnd.CONDITIONAL_RELEASE
    elif case == "conditional_too_early":
        _conditional(detention, w["a"], release_on=timezone.localdate() + dt.timedelta(days=5))
        kwargs["reason"] = DetentionEnd.CONDITIONAL_RELEASE
    elif case == "pardon_missing":
        kwargs["reason"] = DetentionEnd.PARDON
    elif case == "pardon_reduction_only":
        _grant_pardon(detention, w["a"], kind="reduction")
        kwargs["reason"] = DetentionEnd.PARDON
    elif case == "checklist_incomplete":
        kwargs["checklist"] = ["identity_verified", "property_returned"]
    elif case == "property_not_returned":
        kwargs["checklist"] = [c for c in fx.ALL_TICKED if c != "property_returned"]
    elif case == "unknown_item":
        kwargs["checklist"] = [*fx.ALL_TICKED, "cake"]
    elif case == "twice":
        _release(w)
    before = fx.state()
    with pytest.raises(error) as exc:
        _release(w, who=who, **kwargs)
    assert exc.value.code == code and exc.value.field == field
    assert fx.state() == before


def test_release_refusals_say_what_is_missing(mv):
    w = mv
    detention = w["custody"].detention
    detention.expected_release = dt.date(2099, 3, 14)
    detention.save()
    with translation.override("fr"), pytest.raises(DomainError) as exc:
        _release(w, reason=DetentionEnd.END_OF_SENTENCE)
    assert "2099" in str(exc.value.message) and "14" in str(exc.value.message)
    with translation.override("fr"), pytest.raises(DomainError) as exc:
        _release(w, checklist=["identity_verified"])
    message = str(exc.value.message)
    for item in RELEASE_CHECKLIST:
        if item.code in ("order_checked", "documents_handed_over", "property_returned"):
            with translation.override("fr"):
                assert str(item.label) in message
    assert "Identity verified" not in message


# -- escape and death ------------------------------------------------------------------------
def test_escape_ends_the_detention_and_alerts_the_director(mv):
    w = mv
    incident = inmate_escape_record(
        actor=fx.user(w, "director.oujda2"), custody=w["custody"], **_incident_args()
    )
    custody = fx.fresh(w["custody"])
    assert custody.status == CustodyStatus.ESCAPED and custody.released_at == incident.occurred_at
    assert custody.cell_id is None
    assert custody.detention.end_reason == DetentionEnd.ESCAPE
    assert custody.detention.ended_at == incident.occurred_at
    assert (incident.kind, incident.facility_id, incident.family_notified_at) == (
        CustodyIncident.Kind.ESCAPE,
        w["a"].pk,
        None,
    )
    assert incident.authority_notified == "Procureur du Roi près le TPI d'Oujda"
    assert LegalStatusPeriod.objects.get(custody=custody).valid_to == incident.occurred_at
    # the director of A (holds inmates.alerts) by e-mail; nobody at B
    notes = list(Notification.objects.all())
    assert [(n.channel, n.recipient, n.template) for n in notes] == [
        ("email", "director.oujda2@dgapr.example", "inmates_incident_email")
    ]
    assert "OUJDA2-2026-000900" in notes[0].subject + notes[0].body
    assert "Escalade" not in notes[0].body  # the facts stay in the system
    verbs = list(AuditEntry.objects.order_by("seq").values_list("verb", "object_type"))
    assert verbs == [("escape", "inmates.custodyperiod"), ("escape", "inmates.custodyincident")]
    # the property stays kept: it is handed over later through the records
    assert {fx.fresh(i).status for i in w["items"]} == {PropertyStatus.KEPT}


def test_escape_during_a_court_appearance(mv):
    w = mv
    absence = _absence(w, out_at=ago(hours=5))
    inmate_escape_record(
        actor=fx.user(w, "security.oujda2"),
        custody=w["custody"],
        **_incident_args(place="Palais de justice d'Oujda", occurred_at=ago(hours=4)),
    )
    assert fx.fresh(absence).back_at is None  # did not come back
    assert list(selectors.absences_out_now(fetched_by=fx.user(w, "viewer.oujda2"))) == []


def test_director_without_email_gets_an_sms(mv):
    w = mv
    director = fx.user(w, "director.oujda2")
    director.email, director.phone = "", "+212600000001"
    director.save()
    inmate_escape_record(actor=director, custody=w["custody"], **_incident_args())
    assert list(Notification.objects.values_list("channel", "recipient", "template")) == [
        ("sms", "+212600000001", "inmates_incident_sms")
    ]


def test_death_in_custody(mv):
    w = mv
    args = _death_args()
    incident = inmate_death_record(
        actor=fx.user(w, "director.oujda2"), custody=w["custody"], **args
    )
    custody = fx.fresh(w["custody"])
    assert custody.status == CustodyStatus.DECEASED
    assert custody.detention.end_reason == DetentionEnd.DEATH
    assert incident.kind == CustodyIncident.Kind.DEATH
    assert incident.cause == "Arrêt cardiaque apparent"
    assert incident.investigation_reference == "ENQ-2026-12" and incident.autopsy_requested
    assert incident.family_notified_at == args["family_notified_at"]
    note = Notification.objects.get()
    assert note.template == "inmates_incident_email"


@pytest.mark.parametrize("kind", ["escape", "death"])
@pytest.mark.parametrize(
    ("who", "overrides", "error", "code", "field"),
    [
        ("registry.oujda2", {}, PermissionDenied, "forbidden", None),
        ("director.sale2", {}, PermissionDenied, "forbidden", None),
        (
            "director.oujda2",
            {"authority_notified": " "},
            DomainError,
            "required",
            "authority_notified",
        ),
        (
            "director.oujda2",
            {"authority_notified_at": None},
            DomainError,
            "required",
            "authority_notified_at",
        ),
        (
            "director.oujda2",
            {"authority_notified_at": "before"},
            DomainError,
            "invalid",
            "authority_notified_at",
        ),
        (
            "director.oujda2",
            {"family_notified_at": "before"},
            DomainError,
            "invalid",
            "family_notified_at",
        ),
        ("director.oujda2", {"place": ""}, DomainError, "required", "place"),
        ("director.oujda2", {"circumstances": ""}, DomainError, "required", "circumstances"),
        ("director.oujda2", {"occurred_at": "future"}, DomainError, "invalid", "occurred_at"),
        (
            "director.oujda2",
            {"occurred_at": "before_committal"},
            DomainError,
            "invalid",
            "occurred_at",
        ),
    ],
)
def test_incident_refused_changes_nothing(mv, kind, who, overrides, error, code, field):
    w = mv
    args = _death_args() if kind == "death" else _incident_args()
    for key, value in overrides.items():
        if value == "before":
            value = args["occurred_at"] - dt.timedelta(minutes=5)
        elif value == "future":
            value = timezone.now() + dt.timedelta(hours=1)
        elif value == "before_committal":
            value = w["custody"].committed_at - dt.timedelta(hours=1)
        args[key] = value
    service = inmate_death_record if kind == "death" else inmate_escape_record
    before = fx.state()
    with pytest.raises(error) as exc:
        service(actor=fx.user(w, who), custody=w["custody"], **args)
    assert exc.value.code == code and exc.value.field == field
    assert fx.state() == before


def test_incident_after_release_refused(mv):
    w = mv
    _release(w)
    before = fx.state()
    with pytest.raises(ConflictError) as exc:
        inmate_escape_record(
            actor=fx.user(w, "director.oujda2"), custody=w["custody"], **_incident_args()
        )
    assert exc.value.code == "not_in_custody"
    assert fx.state() == before


def test_recaptured_person_is_admitted_again(mv):
    w = mv
    inmate_escape_record(
        actor=fx.user(w, "director.oujda2"),
        custody=w["custody"],
        **_incident_args(occurred_at=ago(days=2), authority_notified_at=ago(days=2)),
    )
    person = w["custody"].person
    again = inmate_admit(
        actor=fx.user(w, "registry.sale2"),
        facility=w["b"],
        existing_person=person,
        committal=committal_data(
            committed_at=ago(hours=1), legal_status=LegalStatus.REMAND, warrant_reference="MD-EVADE"
        ),
    )
    assert again.person_id == person.pk and again.status == CustodyStatus.IN_CUSTODY
    assert again.detention_id != w["custody"].detention_id
    assert again.detention.ended_at is None
    assert person.custody_periods.count() == 2
    assert fx.fresh(w["custody"]).status == CustodyStatus.ESCAPED


def test_release_record_unique_per_custody(mv):
    _release(mv)
    assert ReleaseRecord.objects.count() == 1


@given(
    ticked=st.sets(st.sampled_from([item.code for item in RELEASE_CHECKLIST])),
    property_kept=st.booleans(),
)
def test_checklist_missing_is_exactly_the_required_not_ticked(ticked, property_kept):
    required = {item.code for item in RELEASE_CHECKLIST if item.required}
    if property_kept:
        required.add("property_returned")
    missing = release_checklist_missing(ticked, property_kept=property_kept)
    assert {item.code for item in missing} == required - ticked
    # as a mapping too, with unticked entries
    as_map = {code: code in ticked for code in (i.code for i in RELEASE_CHECKLIST)}
    assert release_checklist_missing(as_map, property_kept=property_kept) == missing
