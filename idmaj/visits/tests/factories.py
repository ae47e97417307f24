"""Factories of the visits domain, and ``visit_scenario``: one institution with a prisoner on
remand, a family account approved on the list with a child, rules, a room, a weekly session
and dated sessions over the booking window."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import factory
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from idmaj.core.tests.factories import UserFactory, grant
from idmaj.facilities.tests.factories import (
    BuildingFactory,
    CellFactory,
    FacilityFactory,
    RegionFactory,
    WingFactory,
)
from idmaj.inmates.tests.factories import CustodyPeriodFactory

from ..constants import (
    AccountStatus,
    RegimeFilter,
    RequestStatus,
    RoomKind,
    VisitMode,
    VisitorStatus,
)
from ..models import (
    FamilyAccount,
    SessionTemplate,
    Visitor,
    VisitorRequest,
    VisitPolicy,
    VisitRoom,
    VisitSession,
)

FAMILY_PASSWORD = "Ziyara-2026-demo!"
# Hashing a password with Argon2 per factory call would slow every test: hash it once.
_HASH: dict[str, str] = {}


def family_password_hash() -> str:
    if "h" not in _HASH:
        _HASH["h"] = make_password(FAMILY_PASSWORD)
    return _HASH["h"]


class FamilyAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FamilyAccount

    cin = factory.Sequence(lambda n: f"JK{100000 + n}")
    first_name = "Fatima"
    family_name = factory.Sequence(lambda n: f"Bennani{n}")
    phone = factory.Sequence(lambda n: f"+2126{10000000 + n}")
    language = "ar"
    password = factory.LazyFunction(family_password_hash)
    status = AccountStatus.ACTIVE
    phone_verified_at = factory.LazyFunction(timezone.now)
    last_activity_at = factory.LazyFunction(timezone.now)


class VisitPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VisitPolicy
        django_get_or_create = ("facility",)

    facility = factory.SubFactory(FacilityFactory)
    online_booking = True


class VisitRoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VisitRoom

    facility = factory.SubFactory(FacilityFactory)
    name = factory.Sequence(lambda n: f"Parloir {n}")
    kind = RoomKind.VISIT_ROOM
    places = 10
    seats = 30


def session_at(room: VisitRoom, day: dt.date, *, start=dt.time(9), end=dt.time(11), **kw):
    """A dated session in ``room`` on ``day`` (local time)."""
    tz = timezone.get_current_timezone()
    values = {
        "facility_id": room.facility_id,
        "room": room,
        "date": day,
        "starts_at": dt.datetime.combine(day, start, tzinfo=tz),
        "ends_at": dt.datetime.combine(day, end, tzinfo=tz),
        "mode": VisitMode.OPEN,
        "regime": RegimeFilter.ALL,
        "capacity_visits": room.places,
        "capacity_visitors": room.seats,
    }
    values.update(kw)
    return VisitSession.objects.create(**values)


def approve_on_list(account: FamilyAccount, custody, *, relationship="mother", children=()):
    """Put ``account`` (and children ``[(name, birth_date)]``) on the prisoner's list."""
    request = VisitorRequest.objects.create(
        account=account,
        detention_id=custody.detention_id,
        facility_id=custody.facility_id,
        relationship=relationship,
        document_kind="family_record",
        status=RequestStatus.APPROVED,
        decided_at=timezone.now(),
    )
    adult = Visitor.objects.create(
        detention_id=custody.detention_id,
        facility_id=custody.facility_id,
        request=request,
        account=account,
        full_name=account.full_name,
        cin=account.cin,
        relationship=relationship,
        status=VisitorStatus.APPROVED,
        approved_at=timezone.now(),
    )
    kids = [
        Visitor.objects.create(
            detention_id=custody.detention_id,
            facility_id=custody.facility_id,
            request=request,
            guardian=adult,
            full_name=name,
            birth_date=born,
            relationship="sibling",
            status=VisitorStatus.APPROVED,
            approved_at=timezone.now(),
        )
        for name, born in children
    ]
    return adult, kids


@dataclass
class VisitScenario:
    facility: object
    other_facility: object
    wing: object
    custody: object
    account: FamilyAccount
    adult: Visitor
    child: Visitor
    policy: VisitPolicy
    room: VisitRoom
    template: SessionTemplate
    sessions: list  # dated sessions: days 3, 4, 5, 10 from today, 09:00-11:00
    officer: object  # visits_officer of ``facility``
    other_officer: object  # visits_officer of ``other_facility``
    director: object


def visit_scenario() -> VisitScenario:
    region = RegionFactory(code="ORIENTAL")
    facility = FacilityFactory(code="OUJDA2", region=region, address="Route de Taza, Oujda")
    other = FacilityFactory(code="BERKANE2", region=region)
    building = BuildingFactory(facility=facility)
    wing = WingFactory(facility=facility, building=building)
    CellFactory(facility=facility, wing=wing)
    custody = CustodyPeriodFactory(facility=facility)
    account = FamilyAccountFactory()
    today = timezone.localdate()
    adult, kids = approve_on_list(
        account, custody, children=[("Yassine", today - dt.timedelta(days=365 * 8))]
    )
    policy = VisitPolicyFactory(facility=facility)
    room = VisitRoomFactory(facility=facility, name="Parloir A", places=2, seats=6)
    template = SessionTemplate.objects.create(
        facility=facility,
        room=room,
        weekday=0,
        start_time=dt.time(9),
        end_time=dt.time(11),
        capacity_visits=2,
        capacity_visitors=6,
        mode=VisitMode.OPEN,
        valid_from=today,
    )
    sessions = [session_at(room, today + dt.timedelta(days=d)) for d in (3, 4, 5, 10)]
    officer = UserFactory(username="visits_oujda")
    grant(officer, "visits_officer", facility=facility)
    other_officer = UserFactory(username="visits_berkane")
    grant(other_officer, "visits_officer", facility=other)
    director = UserFactory(username="director_oujda")
    grant(director, "institution_director", facility=facility)
    return VisitScenario(
        facility=facility,
        other_facility=other,
        wing=wing,
        custody=custody,
        account=account,
        adult=adult,
        child=kids[0],
        policy=policy,
        room=room,
        template=template,
        sessions=sessions,
        officer=officer,
        other_officer=other_officer,
        director=director,
    )
