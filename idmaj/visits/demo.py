"""Demo data of the visits domain (``idmaj seed-demo``), idempotent.

For every institution that holds prisoners: its visit rules (online booking live where the
installations register says so: "Ziyara" at six institutions in 2020, more since), a visit
room, closed booths and a family visit space, a weekly timetable (Monday to Saturday, morning
and afternoon; remand and convicted prisoners on alternate days; family visits on Saturday),
the next national holidays as days without visits, and the dated sessions of the booking
window. At the ``demo`` scale, a family account (``DEMO_FAMILY_PHONE``, the demo password)
approved on the visitor list of a prisoner of Oujda 2 with a child, one booking, and a
second family's request waiting for the visits officer.

Rows are written as the system (no staff actor); the sessions come from
``services.sessions_generate`` like every night's job.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from idmaj.facilities.models import Facility, Installation
from idmaj.inmates.constants import CustodyStatus, LegalStatus
from idmaj.inmates.models import CustodyPeriod

from .constants import (
    AccountStatus,
    DocumentKind,
    RegimeFilter,
    RequestStatus,
    RoomKind,
    VisitMode,
    VisitorStatus,
)
from .models import (
    ExcludedDate,
    FamilyAccount,
    SessionTemplate,
    Visitor,
    VisitorRequest,
    VisitPolicy,
    VisitRoom,
)

DEMO_FAMILY_PHONE = "+212661000001"
DEMO_FAMILY_CIN = "JK123456"
DEMO_FAMILY_FACILITY = "OUJDA2"

RULES_AR = (
    "يجب الإدلاء بالبطاقة الوطنية للتعريف الأصلية عند المدخل. الحضور قبل موعد الزيارة بثلاثين "
    "دقيقة. يرافق الأطفال القاصرون أحد أوليائهم المسجلين في اللائحة. يمنع إدخال الهواتف المحمولة."
)
RULES_FR = (
    "Présenter la carte nationale d'identité originale à l'entrée. Arriver trente minutes avant "
    "l'heure de la visite. Les enfants mineurs viennent avec un parent inscrit sur la liste. "
    "Les téléphones portables ne sont pas admis."
)
ITEMS_AR = (
    "لا تقبل قفة المؤونة. يسمح بإدخال الملابس (مرة في الشهر) والكتب بعد المراقبة، "
    "ويمكن إيداع مبلغ مالي في الحساب الشخصي للسجين بالشباك."
)
ITEMS_FR = (
    "Les colis alimentaires (« couffins ») ne sont pas acceptés. Vêtements (une fois par mois) "
    "et livres admis après contrôle ; un dépôt d'argent sur le compte du détenu se fait au "
    "guichet."
)
# The next national holidays without visits (fixed dates of the Gregorian calendar).
HOLIDAYS = [
    ((1, 1), "رأس السنة الميلادية / Nouvel An"),
    ((1, 11), "ذكرى تقديم وثيقة الاستقلال / Manifeste de l'Indépendance"),
    ((5, 1), "عيد الشغل / Fête du Travail"),
    ((7, 30), "عيد العرش / Fête du Trône"),
]

# (weekday, start, end, room kind, mode, regime)
TIMETABLE = [
    *[
        (d, dt.time(9), dt.time(11, 30), "room", VisitMode.OPEN, RegimeFilter.REMAND)
        for d in (0, 2, 4)
    ],
    *[
        (d, dt.time(9), dt.time(11, 30), "room", VisitMode.OPEN, RegimeFilter.CONVICTED)
        for d in (1, 3)
    ],
    *[
        (d, dt.time(14), dt.time(16, 30), "room", VisitMode.OPEN, RegimeFilter.ALL)
        for d in range(5)
    ],
    *[(d, dt.time(10), dt.time(12), "booths", VisitMode.CLOSED, RegimeFilter.ALL) for d in (1, 3)],
    (5, dt.time(9), dt.time(13), "family", VisitMode.FAMILY, RegimeFilter.CONVICTED),
]


def _holding_facilities(scale: str) -> list[Facility]:
    ids = (
        CustodyPeriod.objects.filter(status=CustodyStatus.IN_CUSTODY)
        .values_list("facility_id", flat=True)
        .distinct()
    )
    qs = Facility.objects.filter(pk__in=list(ids)).order_by("code")
    return list(qs)


def _online_facility_ids(today: dt.date) -> set[int]:
    """Institutions where the installations register says online booking is live today."""
    from .services.sessions import ONLINE_BOOKING_INSTALLATION

    return set(
        Installation.objects.filter(type__code=ONLINE_BOOKING_INSTALLATION, installed_on__lte=today)
        .filter(Q(removed_on__isnull=True) | Q(removed_on__gt=today))
        .values_list("facility_id", flat=True)
    )


def _setup_facility(facility: Facility, today: dt.date, online: set[int]) -> bool:
    """Rules, rooms, timetable and holidays of one institution; False when already there."""
    if VisitPolicy.objects.filter(facility=facility).exists():
        return False
    VisitPolicy.objects.create(
        facility=facility,
        online_booking=facility.pk in online,
        rules_ar=RULES_AR,
        rules_fr=RULES_FR,
        allowed_items_ar=ITEMS_AR,
        allowed_items_fr=ITEMS_FR,
    )
    rooms = {
        "room": VisitRoom.objects.create(
            facility=facility,
            name="قاعة الزيارة 1 / Parloir 1",
            kind=RoomKind.VISIT_ROOM,
            places=24,
            seats=72,
        ),
        "booths": VisitRoom.objects.create(
            facility=facility,
            name="المقصورات / Cabines",
            kind=RoomKind.CLOSED_BOOTHS,
            places=8,
            seats=16,
        ),
        "family": VisitRoom.objects.create(
            facility=facility,
            name="فضاء الزيارة العائلية / Espace familial",
            kind=RoomKind.FAMILY_SPACE,
            places=4,
            seats=16,
        ),
    }
    SessionTemplate.objects.bulk_create(
        SessionTemplate(
            facility=facility,
            room=rooms[room],
            weekday=weekday,
            start_time=start,
            end_time=end,
            capacity_visits=rooms[room].places,
            capacity_visitors=rooms[room].seats,
            mode=mode,
            regime=regime,
            valid_from=today - dt.timedelta(days=90),
        )
        for weekday, start, end, room, mode, regime in TIMETABLE
    )
    excluded = []
    for year in (today.year, today.year + 1):
        for (month, day), reason in HOLIDAYS:
            d = dt.date(year, month, day)
            if today <= d <= today + dt.timedelta(days=366):
                excluded.append(
                    ExcludedDate(facility=facility, starts_on=d, ends_on=d, reason=reason)
                )
    ExcludedDate.objects.bulk_create(excluded)
    return True


def _demo_families(today: dt.date, stdout=None) -> None:
    """One approved family with a child (and a booking), one request awaiting decision."""
    if FamilyAccount.objects.filter(phone=DEMO_FAMILY_PHONE).exists():
        return
    custodies = list(
        CustodyPeriod.objects.filter(
            facility__code=DEMO_FAMILY_FACILITY,
            status=CustodyStatus.IN_CUSTODY,
            legal_status=LegalStatus.REMAND,
            person__sex="M",
        )
        .select_related("person")
        .order_by("committed_at")[:2]
    )
    if len(custodies) < 2:
        return
    now = timezone.now()
    password = make_password(settings.DEMO_PASSWORD)
    mother = FamilyAccount.objects.create(
        cin=DEMO_FAMILY_CIN,
        first_name="فاطمة",
        family_name="بناني",
        phone=DEMO_FAMILY_PHONE,
        language="ar",
        password=password,
        status=AccountStatus.ACTIVE,
        phone_verified_at=now,
        last_activity_at=now,
    )
    first = custodies[0]
    request = VisitorRequest.objects.create(
        account=mother,
        detention_id=first.detention_id,
        facility_id=first.facility_id,
        relationship="mother",
        document_kind=DocumentKind.FAMILY_RECORD,
        status=RequestStatus.APPROVED,
        decided_at=now,
    )
    adult = Visitor.objects.create(
        detention_id=first.detention_id,
        facility_id=first.facility_id,
        request=request,
        account=mother,
        full_name=mother.full_name,
        cin=mother.cin,
        relationship="mother",
        status=VisitorStatus.APPROVED,
        approved_at=now,
    )
    child = Visitor.objects.create(
        detention_id=first.detention_id,
        facility_id=first.facility_id,
        request=request,
        guardian=adult,
        full_name="ياسين",
        birth_date=today - dt.timedelta(days=365 * 9),
        relationship="sibling",
        status=VisitorStatus.APPROVED,
        approved_at=now,
    )
    # A second family asks for the second prisoner: the officer's queue is not empty.
    brother = FamilyAccount.objects.create(
        cin="JK654321",
        first_name="يوسف",
        family_name="العمراني",
        phone="+212661000002",
        language="fr",
        password=password,
        status=AccountStatus.ACTIVE,
        phone_verified_at=now,
        last_activity_at=now,
    )
    second = custodies[1]
    pending = VisitorRequest(
        account=brother,
        detention_id=second.detention_id,
        facility_id=second.facility_id,
        relationship="sibling",
        document_kind=DocumentKind.FAMILY_RECORD,
        document_type="application/pdf",
    )
    pending.document.save("livret.pdf", ContentFile(_demo_pdf()), save=False)
    pending.save()
    Visitor.objects.create(
        detention_id=second.detention_id,
        facility_id=second.facility_id,
        request=pending,
        account=brother,
        full_name=brother.full_name,
        cin=brother.cin,
        relationship="sibling",
    )
    _demo_booking(mother, first, [adult, child], stdout)
    if stdout:
        stdout.write(f"visits: demo family {DEMO_FAMILY_PHONE} approved for {first}")


def _demo_booking(account, custody, visitors, stdout=None) -> None:
    """The demo family's first booking, made as the portal makes it."""
    from idmaj.core.errors import DomainError

    from .selectors import bookable_sessions
    from .services import visit_book

    session = (
        bookable_sessions(detention=custody.detention, custody=custody)
        .filter(mode=VisitMode.OPEN)
        .first()
    )
    if session is None:
        return
    try:
        visit_book(session=session, detention=custody.detention, visitors=visitors, account=account)
    except DomainError as exc:  # the demo goes on without it, saying why
        if stdout:
            stdout.write(f"visits: demo booking not made ({exc.code})")


def _demo_pdf() -> bytes:
    """A one-page PDF standing for a scanned family record book."""
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def seed(*, scale: str = "demo", random_seed: int = 2020, stdout=None) -> None:
    from .services import sessions_generate

    today = timezone.localdate()
    with transaction.atomic():
        facilities = _holding_facilities(scale)
        online = _online_facility_ids(today)
        new = [f for f in facilities if _setup_facility(f, today, online)]
    total = 0
    for facility in facilities:
        policy = VisitPolicy.objects.get(facility=facility)
        total += sessions_generate(
            facility=facility, until=today + dt.timedelta(days=policy.book_from_days)
        )
    if scale == "demo":
        with transaction.atomic():
            _demo_families(today, stdout)
    if stdout:
        stdout.write(f"visits: {len(new)} institutions set up, {total} sessions made")


def demo_accounts_lines(password: str) -> list[str]:
    return [
        f"Family portal (/family/): phone {DEMO_FAMILY_PHONE} or 0661000001, password {password}"
    ]
