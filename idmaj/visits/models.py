"""Family visits ("Ziyara"): family accounts, visitor lists, visit sessions and bookings.

* ``FamilyAccount`` is a member of the public (not a staff ``User``): the family portal has its
  own sign-in, sessions and API tokens, so that no staff page or permission can ever apply to
  a family. A family sees only the prisoners it is approved for.
* ``VisitorRequest`` is a family's request to be on a prisoner's visitor list, with its
  supporting document; ``Visitor`` is one person on the list (the account holder and the
  children who come with them). Lists belong to the ``Detention`` (they follow the prisoner on
  transfer); ``facility`` is the institution currently responsible for them.
* ``VisitPolicy`` holds an institution's booking rules; ``VisitRoom`` and ``SessionTemplate``
  its rooms and weekly timetable; ``VisitSession`` one dated session, made from a template,
  with its capacity and the counters of places taken.
* ``Booking`` is one visit booked in a session for one prisoner, with its visitors.
  Places are taken with a conditional UPDATE on the session's counters and the prisoner's
  weekly allowance with one on ``AllowanceCounter``; check constraints back both, so that no
  race can overbook, on PostgreSQL and SQLite alike.

Every row carries its institution's id (``facility``); every identifier that leaves the system
is a UUID or a random booking code.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from idmaj.facilities.models import Facility, Wing
from idmaj.inmates.constants import Relationship
from idmaj.inmates.models import CustodyPeriod, Detention

from .constants import (
    ACTIVE_BOOKING,
    AccountStatus,
    BookingChannel,
    BookingStatus,
    CancelReason,
    CodePurpose,
    DocumentKind,
    RegimeFilter,
    RequestStatus,
    RestrictionKind,
    RoomKind,
    VisitMode,
    VisitorStatus,
)

# Booking codes: 10 characters of Crockford's base32 (no I, L, O, U): 50 random bits, read
# out over the phone and typed at the gate without ambiguity.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10


def new_booking_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def visitor_document_path(instance: VisitorRequest, filename: str) -> str:
    """Stored under a random name in the private media storage (never served directly)."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"visits/documents/{instance.facility_id}/{uuid.uuid4().hex}.{ext}"


# -- Family accounts ---------------------------------------------------------------------------


class FamilyAccount(models.Model):
    """A family member's account on the public portal (phone-verified)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    cin = models.CharField(_("national identity card number"), max_length=12)
    first_name = models.CharField(_("first name"), max_length=100)
    family_name = models.CharField(_("family name"), max_length=100)
    phone = models.CharField(_("mobile phone"), max_length=20)  # E.164
    email = models.EmailField(_("e-mail"), blank=True)
    language = models.CharField(_("language"), max_length=5, default="ar")
    password = models.CharField(max_length=200)  # Django password hash (Argon2)
    status = models.CharField(
        _("status"), max_length=12, choices=AccountStatus.choices, default=AccountStatus.UNVERIFIED
    )
    phone_verified_at = models.DateTimeField(_("phone verified at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)
    purged_at = models.DateTimeField(_("personal data purged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("family account")
        verbose_name_plural = _("family accounts")
        constraints = [
            # One live account per identity card and per phone; a purged account frees both.
            models.UniqueConstraint(
                fields=["cin"], condition=~Q(status=AccountStatus.PURGED), name="family_cin_unique"
            ),
            models.UniqueConstraint(
                fields=["phone"],
                condition=~Q(status=AccountStatus.PURGED),
                name="family_phone_unique",
            ),
        ]
        indexes = [models.Index(fields=["last_activity_at"], name="family_last_activity_idx")]

    # The portal's request.family is one of these; templates and DRF ask these questions.
    is_authenticated = True
    is_anonymous = False

    def __str__(self) -> str:
        return f"{self.first_name} {self.family_name}".strip() or str(self.uuid)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.family_name}".strip()


class PhoneCode(models.Model):
    """A one-time code sent by SMS (phone verification, password reset, phone change)."""

    account = models.ForeignKey(FamilyAccount, on_delete=models.CASCADE, related_name="codes")
    purpose = models.CharField(max_length=20, choices=CodePurpose.choices)
    phone = models.CharField(max_length=20)
    code_hash = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "purpose", "created_at"], name="phonecode_idx")]

    def __str__(self) -> str:
        return f"{self.purpose} {self.phone}"


class PortalToken(models.Model):
    """An API token of the family portal (the future mobile app); stored as a hash."""

    account = models.ForeignKey(FamilyAccount, on_delete=models.CASCADE, related_name="tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    # -- Visitor lists -----------------------------------------------------------------------------

    def __str__(self) -> str:
        return f"token of {self.account_id}"


class VisitorRequest(models.Model):
    """A family's request to be put on a prisoner's visitor list."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(
        FamilyAccount, on_delete=models.CASCADE, related_name="visitor_requests"
    )
    detention = models.ForeignKey(Detention, on_delete=models.CASCADE, related_name="+")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    relationship = models.CharField(_("relationship"), max_length=20, choices=Relationship.choices)
    document_kind = models.CharField(
        _("supporting document"), max_length=30, choices=DocumentKind.choices
    )
    document = models.FileField(
        _("document"), upload_to=visitor_document_path, max_length=200, blank=True
    )
    document_type = models.CharField(max_length=60, blank=True)  # checked content type
    status = models.CharField(
        _("status"), max_length=12, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    refusal_reason = models.TextField(_("reason for refusal"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("visitor list request")
        verbose_name_plural = _("visitor list requests")
        constraints = [
            # One request at a time per family and prisoner.
            models.UniqueConstraint(
                fields=["account", "detention"],
                condition=Q(status=RequestStatus.PENDING),
                name="visitor_request_one_pending",
            ),
        ]
        indexes = [models.Index(fields=["facility", "status"], name="visitor_request_fac_idx")]

    def __str__(self) -> str:
        return str(self.uuid)


class Visitor(models.Model):
    """One person on a prisoner's visitor list: an adult with an account, or a child."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    detention = models.ForeignKey(Detention, on_delete=models.CASCADE, related_name="+")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    request = models.ForeignKey(
        VisitorRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="visitors"
    )
    account = models.ForeignKey(
        FamilyAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="visitors"
    )
    # The adult visitor a child comes with (children have no account of their own).
    guardian = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    full_name = models.CharField(_("full name"), max_length=200)
    cin = models.CharField(_("national identity card number"), max_length=12, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    relationship = models.CharField(_("relationship"), max_length=20, choices=Relationship.choices)
    status = models.CharField(
        _("status"), max_length=12, choices=VisitorStatus.choices, default=VisitorStatus.PENDING
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["full_name"]
        verbose_name = _("visitor")
        verbose_name_plural = _("visitors")
        constraints = [
            models.UniqueConstraint(
                fields=["detention", "account"],
                condition=Q(account__isnull=False) & ~Q(status__in=["refused", "removed"]),
                name="visitor_one_per_account",
            ),
        ]
        indexes = [
            models.Index(fields=["detention", "status"], name="visitor_detention_idx"),
            models.Index(fields=["facility", "status"], name="visitor_facility_idx"),
        ]

    def __str__(self) -> str:
        return self.full_name


class VisitorRestriction(models.Model):
    """A restriction on one visitor, with its reason; an ended one no longer applies."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="restrictions")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("restriction"), max_length=20, choices=RestrictionKind.choices)
    child = models.ForeignKey(
        Visitor,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("child"),
    )
    reason = models.TextField(_("reason"))
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"), null=True, blank=True)
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_on"]
        verbose_name = _("visitor restriction")
        verbose_name_plural = _("visitor restrictions")
        constraints = [
            models.CheckConstraint(
                name="restriction_child_iff_kind",
                condition=(
                    Q(kind=RestrictionKind.NOT_WITH_CHILD, child__isnull=False)
                    | (~Q(kind=RestrictionKind.NOT_WITH_CHILD) & Q(child__isnull=True))
                ),
            ),
            models.CheckConstraint(
                name="restriction_ends_after_start",
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
            ),
        ]

    # -- Rooms, rules and sessions -----------------------------------------------------------------

    def __str__(self) -> str:
        return f"{self.kind} {self.starts_on}"


class VisitPolicy(models.Model):
    """An institution's booking rules (one row per institution)."""

    facility = models.OneToOneField(
        Facility, on_delete=models.CASCADE, primary_key=True, related_name="visit_policy"
    )
    online_booking = models.BooleanField(_("online booking is live"), default=False)
    book_from_days = models.PositiveSmallIntegerField(_("booking opens (days ahead)"), default=28)
    book_until_days = models.PositiveSmallIntegerField(_("booking closes (days ahead)"), default=2)
    change_cutoff_hours = models.PositiveSmallIntegerField(
        _("cancel or change until (hours before)"), default=24
    )
    weekly_visits_remand = models.PositiveSmallIntegerField(
        _("visits per week, prisoners on remand"), default=2
    )
    weekly_visits_convicted = models.PositiveSmallIntegerField(
        _("visits per week, convicted prisoners"), default=1
    )
    max_adults = models.PositiveSmallIntegerField(_("adults per visit at most"), default=3)
    max_children = models.PositiveSmallIntegerField(_("children per visit at most"), default=3)
    adult_age = models.PositiveSmallIntegerField(_("counts as an adult from age"), default=18)
    max_list_size = models.PositiveSmallIntegerField(_("visitors on a list at most"), default=10)
    walk_ins_allowed = models.BooleanField(_("walk-in visits allowed"), default=True)
    rules_ar = models.TextField(_("visiting rules (Arabic)"), blank=True)
    rules_fr = models.TextField(_("visiting rules (French)"), blank=True)
    allowed_items_ar = models.TextField(_("what visitors may bring (Arabic)"), blank=True)
    allowed_items_fr = models.TextField(_("what visitors may bring (French)"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("visit rules")
        verbose_name_plural = _("visit rules")
        constraints = [
            models.CheckConstraint(
                name="policy_window_order", condition=Q(book_from_days__gte=F("book_until_days"))
            ),
            models.CheckConstraint(name="policy_one_adult", condition=Q(max_adults__gte=1)),
        ]

    def __str__(self) -> str:
        return f"visit rules of {self.facility_id}"


class OnlineBookingPause(models.Model):
    """Online booking switched off at an institution for a period, with a message."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"), null=True, blank=True)
    message_ar = models.TextField(_("message (Arabic)"))
    message_fr = models.TextField(_("message (French)"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                name="pause_ends_after_start",
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
            )
        ]

    def __str__(self) -> str:
        return f"pause from {self.starts_at:%Y-%m-%d %H:%M}"


class VisitRoom(models.Model):
    """A visit room or space of an institution."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="visit_rooms")
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=RoomKind.choices)
    places = models.PositiveSmallIntegerField(_("visits at the same time"))
    seats = models.PositiveSmallIntegerField(_("visitors at the same time"))
    in_service = models.BooleanField(_("in service"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("visit room")
        verbose_name_plural = _("visit rooms")
        constraints = [
            models.UniqueConstraint(fields=["facility", "name"], name="visit_room_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class SessionTemplate(models.Model):
    """A weekly visit session: sessions are made from it for each date of the booking window."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="+")
    room = models.ForeignKey(VisitRoom, on_delete=models.CASCADE, related_name="templates")
    weekday = models.PositiveSmallIntegerField(_("day of the week"))  # 0 = Monday
    start_time = models.TimeField(_("starts at"))
    end_time = models.TimeField(_("ends at"))
    capacity_visits = models.PositiveSmallIntegerField(_("visits"))
    capacity_visitors = models.PositiveSmallIntegerField(_("visitors"))
    mode = models.CharField(_("mode"), max_length=10, choices=VisitMode.choices)
    regime = models.CharField(
        _("for"), max_length=10, choices=RegimeFilter.choices, default=RegimeFilter.ALL
    )
    wings = models.ManyToManyField(Wing, blank=True, related_name="+", verbose_name=_("wings"))
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)

    class Meta:
        ordering = ["weekday", "start_time"]
        verbose_name = _("weekly session")
        verbose_name_plural = _("weekly sessions")
        constraints = [
            models.CheckConstraint(name="template_weekday", condition=Q(weekday__lte=6)),
            models.CheckConstraint(
                name="template_end_after_start", condition=Q(end_time__gt=F("start_time"))
            ),
        ]

    def __str__(self) -> str:
        return f"{self.weekday} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class ExcludedDate(models.Model):
    """A day (or days) without visits at an institution: holiday, lockdown, works."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="+")
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    reason = models.CharField(_("reason"), max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_on"]
        verbose_name = _("day without visits")
        verbose_name_plural = _("days without visits")
        constraints = [
            models.CheckConstraint(
                name="excluded_ends_after_start", condition=Q(ends_on__gte=F("starts_on"))
            )
        ]

    def __str__(self) -> str:
        return f"{self.starts_on}–{self.ends_on} {self.reason}"


class VisitSession(models.Model):
    """One dated session in one room; the counters hold the places taken by bookings.

    ``booked_*`` never exceed the capacity (check constraints); staff bookings over capacity,
    made with a recorded reason, are counted in ``extra_*`` instead.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="+")
    room = models.ForeignKey(VisitRoom, on_delete=models.PROTECT, related_name="sessions")
    template = models.ForeignKey(
        SessionTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="sessions"
    )
    date = models.DateField(_("date"))
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    mode = models.CharField(_("mode"), max_length=10, choices=VisitMode.choices)
    regime = models.CharField(
        _("for"), max_length=10, choices=RegimeFilter.choices, default=RegimeFilter.ALL
    )
    wings = models.ManyToManyField(Wing, blank=True, related_name="+", verbose_name=_("wings"))
    capacity_visits = models.PositiveSmallIntegerField(_("visits"))
    capacity_visitors = models.PositiveSmallIntegerField(_("visitors"))
    booked_visits = models.PositiveSmallIntegerField(default=0)
    booked_visitors = models.PositiveSmallIntegerField(default=0)
    extra_visits = models.PositiveSmallIntegerField(default=0)
    extra_visitors = models.PositiveSmallIntegerField(default=0)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["starts_at", "room__name"]
        verbose_name = _("visit session")
        verbose_name_plural = _("visit sessions")
        constraints = [
            models.CheckConstraint(
                name="session_visits_within_capacity",
                condition=Q(booked_visits__lte=F("capacity_visits")),
            ),
            models.CheckConstraint(
                name="session_visitors_within_capacity",
                condition=Q(booked_visitors__lte=F("capacity_visitors")),
            ),
            models.CheckConstraint(
                name="session_ends_after_start", condition=Q(ends_at__gt=F("starts_at"))
            ),
            models.UniqueConstraint(
                fields=["room", "starts_at"],
                condition=Q(cancelled_at__isnull=True),
                name="session_room_start_unique",
            ),
        ]
        indexes = [models.Index(fields=["facility", "date"], name="session_facility_date_idx")]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M} {self.room_id}"


class AllowanceCounter(models.Model):
    """Visits counted against one prisoner's allowance in one week (Monday to Sunday).

    Taken with one conditional UPDATE ``SET used = used + 1, allowance = <now> WHERE used <
    <now>`` (``<now>``: the allowance of the prisoner's legal status under the policy in force);
    the check constraint backs it.
    """

    detention = models.ForeignKey(Detention, on_delete=models.CASCADE, related_name="+")
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="+")
    week_start = models.DateField()
    allowance = models.PositiveSmallIntegerField(default=0)
    used = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["detention", "week_start"], name="allowance_one_per_week"
            ),
            models.CheckConstraint(
                name="allowance_not_exceeded", condition=Q(used__lte=F("allowance"))
            ),
        ]

    def __str__(self) -> str:
        return f"{self.detention_id} {self.week_start}: {self.used}/{self.allowance}"


class Booking(models.Model):
    """One visit booked in a session for one prisoner."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    code = models.CharField(_("booking code"), max_length=16, unique=True, default=new_booking_code)
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    session = models.ForeignKey(VisitSession, on_delete=models.PROTECT, related_name="bookings")
    detention = models.ForeignKey(Detention, on_delete=models.PROTECT, related_name="+")
    custody = models.ForeignKey(CustodyPeriod, on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(
        FamilyAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="bookings"
    )
    channel = models.CharField(_("booked"), max_length=10, choices=BookingChannel.choices)
    status = models.CharField(
        _("status"), max_length=12, choices=BookingStatus.choices, default=BookingStatus.BOOKED
    )
    week_start = models.DateField()
    adults = models.PositiveSmallIntegerField(_("adults"))
    children = models.PositiveSmallIntegerField(_("children"), default=0)
    # Beyond the session's capacity (staff only, with the reason): counted in ``extra_*``.
    over_capacity = models.BooleanField(default=False)
    over_capacity_reason = models.CharField(_("reason for exceeding"), max_length=300, blank=True)
    flag_reason = models.CharField(_("to review because"), max_length=300, blank=True)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.CharField(
        _("why cancelled"), max_length=20, choices=CancelReason.choices, blank=True
    )
    replaced_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaces"
    )

    class Meta:
        ordering = ["session__starts_at", "created_at"]
        verbose_name = _("visit booking")
        verbose_name_plural = _("visit bookings")
        constraints = [
            # One live booking per prisoner and session (the "duplicate" refusal, under races).
            models.UniqueConstraint(
                fields=["session", "detention"],
                condition=Q(status__in=[str(s) for s in ACTIVE_BOOKING]),
                name="booking_one_per_session",
            ),
            models.CheckConstraint(
                name="booking_cancelled_iff_status",
                condition=(
                    Q(status=BookingStatus.CANCELLED, cancelled_at__isnull=False)
                    | (~Q(status=BookingStatus.CANCELLED) & Q(cancelled_at__isnull=True))
                ),
            ),
            models.CheckConstraint(name="booking_one_adult", condition=Q(adults__gte=1)),
        ]
        indexes = [
            models.Index(fields=["facility", "status"], name="booking_facility_status_idx"),
            models.Index(fields=["detention", "week_start"], name="booking_detention_week_idx"),
            models.Index(fields=["account", "created_at"], name="booking_account_idx"),
        ]

    def __str__(self) -> str:
        return self.code


class BookingVisitor(models.Model):
    """A visitor named on a booking; ``checked_at`` when their identity was checked at the gate."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="visitors")
    visitor = models.ForeignKey(Visitor, on_delete=models.PROTECT, related_name="+")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    is_child = models.BooleanField(default=False)
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["booking", "visitor"], name="booking_visitor_unique")
        ]

    def __str__(self) -> str:
        return f"{self.booking_id}: {self.visitor_id}"
