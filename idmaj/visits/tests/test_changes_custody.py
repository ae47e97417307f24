"""A prisoner leaves an institution: the registry's movements (transfer, release, escape,
death) cancel the bookings there and move or close the visitor list (``services.changes``)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.http import Http404
from django.utils import timezone, translation

from idmaj.core import audit
from idmaj.core.models import AuditEntry, Notification
from idmaj.core.tests.factories import UserFactory, grant
from idmaj.inmates.tests.factories import CustodyPeriodFactory

from ..constants import (
    BookingStatus,
    CancelReason,
    RequestStatus,
    RestrictionKind,
    VisitorStatus,
)
from ..models import Booking, Visitor, VisitorRequest, VisitorRestriction
from ..selectors.lists import get_visitor_for_user_or_404
from ..services import visits_on_custody_left
from . import changes_fixtures as fx
from .factories import FamilyAccountFactory, VisitPolicyFactory, approve_on_list


def _pending_request(vs):
    """Another family asking to be on the list (not checked yet)."""
    account = FamilyAccountFactory(first_name="Khadija")
    request = VisitorRequest.objects.create(
        account=account,
        detention_id=vs.custody.detention_id,
        facility_id=vs.facility.pk,
        relationship="sibling",
        document_kind="family_record",
    )
    visitor = Visitor.objects.create(
        detention_id=vs.custody.detention_id,
        facility_id=vs.facility.pk,
        request=request,
        account=account,
        full_name=account.full_name,
        cin=account.cin,
        relationship="sibling",
    )
    return account, request, visitor


def _restriction(vs, **kw):
    today = timezone.localdate()
    values = {
        "visitor": vs.adult,
        "facility_id": vs.facility.pk,
        "kind": RestrictionKind.CLOSED_ONLY,
        "reason": "Objet interdit",
        "starts_on": today - dt.timedelta(days=30),
    }
    values.update(kw)
    return VisitorRestriction.objects.create(**values)


def test_transfer_cancels_future_bookings_and_moves_the_list(
    vs, settings, django_capture_on_commit_callbacks
):
    VisitPolicyFactory(facility=vs.other_facility, online_booking=True)
    first = fx.book(vs, vs.sessions[0])
    later = fx.book(vs, vs.sessions[3])
    past = fx.past_booking(vs)
    other_account, request, pending_visitor = _pending_request(vs)
    in_force = _restriction(vs)
    ended = _restriction(
        vs,
        kind=RestrictionKind.BANNED,
        starts_on=timezone.localdate() - dt.timedelta(days=60),
        ends_on=timezone.localdate() - dt.timedelta(days=40),
    )
    assert fx.counters(vs.sessions[0]) == (1, 2)
    assert fx.allowance_used(vs, vs.sessions[0].date) == 1
    Notification.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True):
        new = fx.transfer(vs)

    for booking in (first, later):
        booking = fx.fresh(booking)
        assert booking.status == BookingStatus.CANCELLED
        assert booking.cancel_reason == CancelReason.TRANSFERRED
    assert fx.counters(vs.sessions[0]) == (0, 0) and fx.counters(vs.sessions[3]) == (0, 0)
    assert fx.allowance_used(vs, vs.sessions[0].date) == 0
    assert fx.allowance_used(vs, vs.sessions[3].date) == 0
    # the visit that took place stays as it was
    assert fx.fresh(past).status == BookingStatus.COMPLETED and fx.fresh(past).cancelled_at is None

    # the list, the pending request and the restriction in force follow the prisoner
    b = vs.other_facility.pk
    assert {v.facility_id for v in map(fx.fresh, (vs.adult, vs.child, pending_visitor))} == {b}
    assert fx.fresh(request).facility_id == b and fx.fresh(request).status == RequestStatus.PENDING
    assert fx.fresh(in_force).facility_id == b
    assert fx.fresh(ended).facility_id == vs.facility.pk  # history of the old institution
    # the new institution's officer sees the entry; the old one's no longer does
    assert get_visitor_for_user_or_404(user=vs.other_officer, uuid=vs.adult.uuid) == vs.adult
    with pytest.raises(Http404):
        get_visitor_for_user_or_404(user=vs.officer, uuid=vs.adult.uuid)

    # one SMS to the family on the list (not one per booking), none to the pending request
    notes = fx.sms()
    assert [(n.recipient, n.template) for n in notes] == [(vs.account.phone, "change_transferred")]
    with translation.override("ar"):
        assert vs.other_facility.name in notes[0].body
        assert vs.custody.person.full_name_ar in notes[0].body
        assert str(translation.gettext("You can book a visit there on the Ziyara portal.")) in (
            notes[0].body
        )
    assert (
        first.session.starts_at.astimezone(timezone.get_current_timezone()).strftime("%d/%m %H:%M")
        in notes[0].body
    )
    assert [m["template"] for m in fx.outbox(settings)] == ["change_transferred"]

    # audit: the list's entry on each of the two chains, cancellations on the old one
    out = AuditEntry.objects.get(verb="visitor_list_transfer_out")
    into = AuditEntry.objects.get(verb="visitor_list_transfer_in")
    assert (out.chain, into.chain) == (vs.facility.pk, b)
    assert out.actor_id == vs.director.pk
    assert sorted(out.after["bookings_cancelled"]) == sorted([first.code, later.code])
    assert into.after["custody_uuid"] == str(new.uuid)
    assert set(into.after["visitors"]) == {
        str(vs.adult.uuid),
        str(vs.child.uuid),
        str(pending_visitor.uuid),
    }
    cancels = AuditEntry.objects.filter(verb="booking_cancel")
    assert {e.chain for e in cancels} == {vs.facility.pk} and cancels.count() == 2
    text = json.dumps([out.after, into.after], ensure_ascii=False)
    for personal in (vs.account.cin, vs.account.family_name, vs.child.full_name, other_account.cin):
        assert personal not in text
    assert audit.verify_chains()[1] == []


def test_transfer_to_an_institution_without_online_booking(vs, django_capture_on_commit_callbacks):
    fx.book(vs, vs.sessions[0])
    Notification.objects.all().delete()
    fx.transfer(vs)
    (note,) = fx.sms()
    with translation.override("ar"):
        assert translation.gettext("Contact that institution to arrange a visit.") in note.body


def test_transfer_recorded_by_a_registry_officer(vs):
    """The registry officer holds no visits permission: the movement is the authority."""
    registry = UserFactory(username="registry_oujda")
    grant(registry, "registry_officer", facility=vs.facility)
    booking = fx.book(vs, vs.sessions[0])
    fx.transfer(vs, actor=registry)
    assert fx.fresh(booking).status == BookingStatus.CANCELLED
    assert AuditEntry.objects.get(verb="visitor_list_transfer_out").actor_id == registry.pk
    # The cancellation is recorded under the officer whose movement caused it.
    assert AuditEntry.objects.get(verb="booking_cancel").actor_id == registry.pk


@pytest.mark.parametrize("how", ["release", "escape", "death"])
def test_leaving_custody_cancels_bookings_and_keeps_the_list(
    vs, how, django_capture_on_commit_callbacks
):
    first = fx.book(vs, vs.sessions[0])
    past = fx.past_booking(vs)
    other_account, request, pending_visitor = _pending_request(vs)
    Notification.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True):
        fx.LEAVE[how](vs)

    first = fx.fresh(first)
    assert (first.status, first.cancel_reason) == (BookingStatus.CANCELLED, CancelReason.RELEASED)
    assert fx.counters(vs.sessions[0]) == (0, 0)
    assert fx.fresh(past).status == BookingStatus.COMPLETED
    # the list stays where it was, as history; the pending request is closed
    adult, child = fx.fresh(vs.adult), fx.fresh(vs.child)
    assert (adult.facility_id, adult.status) == (vs.facility.pk, VisitorStatus.APPROVED)
    assert (child.facility_id, child.status) == (vs.facility.pk, VisitorStatus.APPROVED)
    assert fx.fresh(request).status == RequestStatus.WITHDRAWN
    assert fx.fresh(pending_visitor).status == VisitorStatus.REMOVED
    assert get_visitor_for_user_or_404(user=vs.officer, uuid=vs.adult.uuid) == vs.adult

    notes = {n.recipient: n for n in fx.sms("change_")}
    assert {r: n.template for r, n in notes.items()} == {
        vs.account.phone: "change_left",
        other_account.phone: "change_request_closed",
    }
    assert not fx.sms("booking_")  # no second message per booking
    entry = AuditEntry.objects.get(verb="visitor_list_closed")
    assert entry.chain == vs.facility.pk and entry.after["bookings_cancelled"] == [first.code]


def test_families_get_the_same_neutral_words_whatever_the_reason(vs):
    """Release, escape and death read alike: "no longer held at X; contact the institution"."""
    bodies = {}
    for how in ("release", "escape", "death"):
        vs.custody = custody = CustodyPeriodFactory(facility=vs.facility)
        account = FamilyAccountFactory(language="fr")
        approve_on_list(account, custody)
        fx.book(vs, vs.sessions[0], [account.visitors.get()], account=account)
        fx.LEAVE[how](vs)
        (note,) = [n for n in fx.sms("change_") if n.recipient == account.phone]
        bodies[how] = note.body.replace(custody.person.full_name_latin, "X")
    assert len(set(bodies.values())) == 1
    body = bodies["escape"]
    with translation.override("fr"):
        assert translation.gettext("For any information, contact the institution.") in body
        assert vs.facility.name in body
    for word in ("évad", "décè", "décé", "mort", "libér", "escape", "death", "releas"):
        assert word not in body.lower()


def test_leaving_without_visits_leaves_no_trace(vs):
    """A prisoner without list or booking: nothing written (the registry's own audit only)."""
    custody = CustodyPeriodFactory(facility=vs.facility)
    before = fx.state(vs)
    vs.custody = custody
    fx.transfer(vs)
    entries = set(AuditEntry.objects.values_list("verb", flat=True))
    assert not {v for v in entries if v.startswith("visitor_list") or v.startswith("booking")}
    after = fx.state(vs)
    assert after[:3] == before[:3] and after[4] == before[4]


def test_a_visit_under_way_is_left_alone(vs):
    """Visitors already at the gate, or a session that has begun: not cancelled."""
    arrived = fx.book(vs, vs.sessions[0])
    Booking.objects.filter(pk=arrived.pk).update(
        status=BookingStatus.ARRIVED, arrived_at=timezone.now()
    )
    started = fx.past_booking(vs, days_ago=0, status=BookingStatus.BOOKED)
    fx.transfer(vs)
    assert fx.fresh(arrived).status == BookingStatus.ARRIVED
    assert fx.fresh(started).status == BookingStatus.BOOKED


def test_bookings_of_another_prisoner_are_untouched(vs):
    other_custody = CustodyPeriodFactory(facility=vs.facility)
    account = FamilyAccountFactory()
    adult, _ = approve_on_list(account, other_custody)
    from ..services import visit_book

    theirs = visit_book(
        session=vs.sessions[0],
        detention=other_custody.detention,
        visitors=[adult],
        account=account,
    )
    fx.book(vs, vs.sessions[0])
    fx.release(vs)
    assert fx.fresh(theirs).status == BookingStatus.BOOKED
    assert fx.fresh(adult).facility_id == vs.facility.pk


def test_called_twice_changes_nothing_more(vs):
    booking = fx.book(vs, vs.sessions[0])
    new = fx.transfer(vs)
    snapshot = fx.state(vs)
    result = visits_on_custody_left(custody=fx.fresh(vs.custody), successor=new, actor=vs.director)
    assert result["cancelled"] == [] and result["visitors"] == 0
    assert fx.state(vs) == snapshot
    assert fx.fresh(booking).status == BookingStatus.CANCELLED


def test_a_failure_here_rolls_the_movement_back(vs, monkeypatch):
    """One transaction with the registry: no transfer with a list left behind."""
    from idmaj.core.errors import DomainError
    from idmaj.inmates.constants import CustodyStatus

    from ..services import bookings as booking_services

    booking = fx.book(vs, vs.sessions[0])
    before = fx.state(vs)

    def broken(**kwargs):
        raise DomainError("broken", "broken")

    monkeypatch.setattr(booking_services, "booking_cancel_by_system", broken)
    with pytest.raises(DomainError):
        fx.transfer(vs)
    assert fx.fresh(vs.custody).status == CustodyStatus.IN_CUSTODY
    assert fx.state(vs) == before
    assert fx.fresh(booking).status == BookingStatus.BOOKED
