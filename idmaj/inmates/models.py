"""The inmate registry: persons, their committals (custody periods), offences.

* ``Person`` is one human being, whatever the number of times they were committed. It is
  national (not institution-scoped): a person admitted again, or transferred, keeps one record.
  Users reach persons through custody periods, which are scoped.
* ``CustodyPeriod`` is one committal (écrou) in one institution, from committal to release or
  transfer out. It carries its institution's id (``facility_id``), and every read of it is
  scoped on that column (``CustodyPeriod.objects.visible_to(user)``).
* ``CommittalCounter`` hands out committal numbers per institution and year under a row lock.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from idmaj.core.scoping import access_for
from idmaj.facilities.models import Cell, Facility, LocalizedNameMixin

from .constants import (
    ConditionalReleaseStatus,
    CustodyStatus,
    DetentionEnd,
    HearingKind,
    HearingOutcome,
    ImportStatus,
    LegalStatus,
    MovementKind,
    PardonKind,
    PersonSex,
    PropertyStatus,
    Relationship,
    SentenceStatus,
)

cin_validator = RegexValidator(
    r"^[A-Z]{1,2}[0-9]{1,7}$",
    _(
        "A national identity card number is one or two Latin letters followed by digits, "
        "for example AB123456 or J456789."
    ),
    code="invalid_cin",
)


def normalise_cin(cin: str | None) -> str:
    """Upper case, without spaces or dashes: "ab 123-456" → "AB123456"."""
    return "".join(ch for ch in (cin or "").upper() if ch.isalnum())


nationality_validator = RegexValidator(
    r"^[A-Z]{2}$",
    _("Use the two-letter country code (ISO 3166), for example MA."),
    code="invalid_nationality",
)


class Offence(LocalizedNameMixin, models.Model):
    """Reference data: an offence as the penal code names it."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name_ar = models.CharField(_("name (Arabic)"), max_length=300)
    name_fr = models.CharField(_("name (French)"), max_length=300)
    name_en = models.CharField(_("name (English)"), max_length=300, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("offence")
        verbose_name_plural = _("offences")

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class Person(models.Model):
    """One person known to the registry, with names in Arabic and in Latin script.

    ``name_key_ar`` and ``name_key_latin`` are the normalised search keys of "first name +
    family name" in each script (``inmates.names.search_key``); the services fill them.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    first_name_ar = models.CharField(_("first name (Arabic)"), max_length=100, blank=True)
    family_name_ar = models.CharField(_("family name (Arabic)"), max_length=100, blank=True)
    father_name_ar = models.CharField(_("father's name (Arabic)"), max_length=100, blank=True)
    mother_name_ar = models.CharField(_("mother's name (Arabic)"), max_length=200, blank=True)
    first_name_latin = models.CharField(_("first name (Latin)"), max_length=100, blank=True)
    family_name_latin = models.CharField(_("family name (Latin)"), max_length=100, blank=True)
    father_name_latin = models.CharField(_("father's name (Latin)"), max_length=100, blank=True)
    mother_name_latin = models.CharField(_("mother's name (Latin)"), max_length=200, blank=True)
    name_key_ar = models.CharField(max_length=220, blank=True, db_index=True, editable=False)
    name_key_latin = models.CharField(max_length=220, blank=True, db_index=True, editable=False)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True, db_index=True)
    birth_place = models.CharField(_("place of birth"), max_length=150, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=PersonSex.choices)
    nationality = models.CharField(
        _("nationality"), max_length=2, default="MA", validators=[nationality_validator]
    )
    cin = models.CharField(
        _("national identity card number (CIN)"),
        max_length=10,
        blank=True,
        validators=[cin_validator],
    )
    distinguishing_marks = models.TextField(_("distinguishing marks"), blank=True)
    languages = models.CharField(_("languages spoken"), max_length=200, blank=True)
    # Stored under the private media root (IDMAJ_DATA_DIR/private), served by a scoped view.
    photo = models.FileField(_("photo"), upload_to="persons/photos/", blank=True, max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        constraints = [
            models.UniqueConstraint(fields=["cin"], condition=~Q(cin=""), name="person_cin_unique"),
        ]

    def __str__(self) -> str:
        return self.full_name_ar or self.full_name_latin or str(self.uuid)

    @property
    def full_name_ar(self) -> str:
        return " ".join(p for p in (self.first_name_ar, self.family_name_ar) if p)

    @property
    def full_name_latin(self) -> str:
        return " ".join(p for p in (self.first_name_latin, self.family_name_latin) if p)

    def clean(self) -> None:
        has_ar = bool(self.first_name_ar.strip() and self.family_name_ar.strip())
        has_latin = bool(self.first_name_latin.strip() and self.family_name_latin.strip())
        if not (has_ar or has_latin):
            raise ValidationError(
                _("Give the first and family names in Arabic script or in Latin script."),
                code="names_missing",
            )


class CommittalCounter(models.Model):
    """The last committal number handed out by an institution in a year."""

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "year"], name="committal_counter_facility_year_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.facility_id}/{self.year}: {self.last_number}"


class Detention(models.Model):
    """One stay in the prison system: from committal to release, escape or death, whatever
    the number of institutions in between (each one is a ``CustodyPeriod``).

    The legal record (hearings, sentences, pardons, conditional release) and the personal
    property belong to the detention, so that they follow the prisoner on transfer. A
    detention has no institution of its own: it is reached through its custody periods,
    which are scoped. ``expected_release`` is kept by the sentencing services
    (``release.expected_release`` over the sentences in force) for the lists of releases due.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="detentions", verbose_name=_("person")
    )
    started_at = models.DateTimeField(_("committed at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.CharField(_("end"), max_length=30, choices=DetentionEnd.choices, blank=True)
    expected_release = models.DateField(
        _("expected release date"), null=True, blank=True, db_index=True
    )
    life_sentence = models.BooleanField(_("life sentence"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("detention")
        verbose_name_plural = _("detentions")
        constraints = [
            models.CheckConstraint(
                name="detention_end_consistent",
                condition=(
                    Q(ended_at__isnull=True, end_reason="")
                    | (Q(ended_at__isnull=False) & ~Q(end_reason=""))
                ),
            ),
        ]

    def __str__(self) -> str:
        return str(self.uuid)


class CustodyPeriodQuerySet(models.QuerySet):
    def visible_to(self, user) -> CustodyPeriodQuerySet:
        """The one scoping rule of the registry: the institutions the user sees and for
        which they hold ``inmates.view``."""
        access = access_for(user)
        qs = access.filter(self)
        allowed = access.perm_facility_ids("inmates.view")
        if allowed is not None:
            qs = qs.filter(facility_id__in=allowed)
        return qs

    def in_custody_at(self, moment) -> CustodyPeriodQuerySet:
        """Periods during which the person was held at ``moment`` (an aware datetime)."""
        return self.filter(committed_at__lte=moment).filter(
            Q(released_at__isnull=True) | Q(released_at__gt=moment)
        )


class CustodyPeriod(models.Model):
    """One committal (écrou) of a person in an institution.

    ``released_at`` is the moment the period ended in this institution: release, or transfer
    out (``status`` says which). It is empty exactly while the person is in custody here.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="custody_periods", verbose_name=_("person")
    )
    detention = models.ForeignKey(
        Detention,
        on_delete=models.PROTECT,
        related_name="custody_periods",
        verbose_name=_("detention"),
    )
    facility = models.ForeignKey(
        Facility,
        on_delete=models.PROTECT,
        related_name="custody_periods",
        verbose_name=_("institution"),
    )
    committal_number = models.CharField(_("committal number"), max_length=50, editable=False)
    committed_at = models.DateTimeField(_("committed at"))
    committing_authority = models.CharField(_("committing authority"), max_length=200)
    court = models.CharField(_("court"), max_length=200, blank=True)
    warrant_reference = models.CharField(_("warrant reference"), max_length=100)
    case_number = models.CharField(_("case number"), max_length=100, blank=True)
    offences = models.ManyToManyField(
        Offence, related_name="custody_periods", blank=True, verbose_name=_("offences")
    )
    legal_status = models.CharField(_("legal status"), max_length=12, choices=LegalStatus.choices)
    escort = models.CharField(_("escort"), max_length=200, blank=True)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=CustodyStatus.choices,
        default=CustodyStatus.IN_CUSTODY,
    )
    released_at = models.DateTimeField(_("released or left at"), null=True, blank=True)
    # Arrived by transfer: the period it continues (same detention, other institution).
    transferred_from = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transferred_to",
        verbose_name=_("transferred from"),
    )
    # The cell the person occupies now (kept by the housing services with CellAssignment).
    cell = models.ForeignKey(
        Cell,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cell"),
    )
    # Mandela rule 7: what was seen and said at admission.
    injuries_observed = models.TextField(_("visible injuries"), blank=True)
    ill_treatment_complaint = models.TextField(_("complaint of prior ill-treatment"), blank=True)
    # Legacy system reference of an imported record (idempotent imports).
    legacy_reference = models.CharField(
        _("legacy reference"), max_length=60, blank=True, editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CustodyPeriodQuerySet.as_manager()

    class Meta:
        ordering = ["-committed_at"]
        verbose_name = _("custody period")
        verbose_name_plural = _("custody periods")
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "committal_number"], name="custody_committal_number_unique"
            ),
            # A person is in custody in one institution at most: backs the admission rule
            # even when two officers admit the same person at the same moment.
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(status=CustodyStatus.IN_CUSTODY),
                name="custody_one_open_per_person",
            ),
            models.CheckConstraint(
                name="custody_released_at_iff_ended",
                condition=(
                    Q(status=CustodyStatus.IN_CUSTODY, released_at__isnull=True)
                    | (~Q(status=CustodyStatus.IN_CUSTODY) & Q(released_at__isnull=False))
                ),
            ),
            models.UniqueConstraint(
                fields=["facility", "legacy_reference"],
                condition=~Q(legacy_reference=""),
                name="custody_legacy_reference_unique",
            ),
            models.CheckConstraint(
                name="custody_released_after_committed",
                condition=Q(released_at__isnull=True) | Q(released_at__gte=F("committed_at")),
            ),
        ]
        indexes = [
            models.Index(fields=["committal_number"], name="custody_committal_number_idx"),
            models.Index(fields=["facility", "status"], name="custody_facility_status_idx"),
            models.Index(
                fields=["facility", "committed_at", "released_at"], name="custody_facility_at_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.committal_number or str(self.uuid)


# -- Admission (Nelson Mandela rule 7) -----------------------------------------------------------
class FamilyMember(models.Model):
    """A relative or contact of a person: family (children with their age and carer),
    emergency contact, next of kin. Personal data of third parties: every read of a list of
    them goes to the audit trail (``selectors.family_member_list``)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="family_members", verbose_name=_("person")
    )
    relationship = models.CharField(_("relationship"), max_length=20, choices=Relationship.choices)
    full_name = models.CharField(_("full name"), max_length=200)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=PersonSex.choices, blank=True)
    phone = models.CharField(_("mobile phone"), max_length=20, blank=True)  # E.164
    address = models.CharField(_("address"), max_length=300, blank=True)
    carer = models.CharField(_("who looks after the child"), max_length=200, blank=True)
    is_emergency_contact = models.BooleanField(_("emergency contact"), default=False)
    is_next_of_kin = models.BooleanField(_("next of kin"), default=False)
    language = models.CharField(_("language"), max_length=5, default="ar")
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("family member or contact")
        verbose_name_plural = _("family members and contacts")

    def __str__(self) -> str:
        return f"{self.full_name} ({self.get_relationship_display()})"


class AdmissionNotice(models.Model):
    """The family told of the admission (or why not): recorded, and sent by SMS through the
    notification service when a phone number is known."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    custody = models.ForeignKey(
        CustodyPeriod, on_delete=models.CASCADE, related_name="admission_notices"
    )
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    family_member = models.ForeignKey(
        FamilyMember, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    channel = models.CharField(_("channel"), max_length=20)  # sms, phone_call, in_person, none
    notified_at = models.DateTimeField(_("notified at"))
    notification = models.ForeignKey(
        "core.Notification", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        "core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-notified_at"]

    def __str__(self) -> str:
        return f"{self.custody_id} · {self.channel} · {self.notified_at:%Y-%m-%d}"


class AdmissionAlert(models.Model):
    """Visible injuries or a complaint of prior ill-treatment seen at admission: the
    director is alerted and acknowledges with the action taken."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    custody = models.ForeignKey(
        CustodyPeriod, on_delete=models.CASCADE, related_name="admission_alerts"
    )
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    injuries = models.TextField(_("visible injuries"), blank=True)
    complaint = models.TextField(_("complaint of prior ill-treatment"), blank=True)
    raised_at = models.DateTimeField(_("raised at"))
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        "core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action_taken = models.TextField(_("action taken"), blank=True)

    class Meta:
        ordering = ["-raised_at"]
        indexes = [models.Index(fields=["facility", "acknowledged_at"], name="alert_open_idx")]

    def __str__(self) -> str:
        return f"{self.custody_id} · {self.raised_at:%Y-%m-%d}"


class PropertyItem(models.Model):
    """An item of personal property deposited at admission: kept, then returned at release
    (or handed over). Belongs to the detention, so it follows the prisoner on transfer;
    ``facility`` is where it is stored now."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    detention = models.ForeignKey(
        Detention, on_delete=models.CASCADE, related_name="property_items"
    )
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    description = models.CharField(_("description"), max_length=300)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    stored_location = models.CharField(_("stored in"), max_length=100, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=PropertyStatus.choices, default=PropertyStatus.KEPT
    )
    received_at = models.DateTimeField(_("received at"))
    closed_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    recipient = models.CharField(_("returned to"), max_length=200, blank=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("property item")
        verbose_name_plural = _("personal property")

    def __str__(self) -> str:
        return f"{self.quantity} × {self.description}"


# -- Legal status and sentences ----------------------------------------------------------------
class LegalStatusPeriod(models.Model):
    """The legal status of a custody period over time: ``[valid_from, valid_to)``. Counts
    by legal status at any moment read this table."""

    custody = models.ForeignKey(
        CustodyPeriod, on_delete=models.CASCADE, related_name="legal_status_periods"
    )
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("legal status"), max_length=12, choices=LegalStatus.choices)
    valid_from = models.DateTimeField(_("from"))
    valid_to = models.DateTimeField(_("until"), null=True, blank=True)

    class Meta:
        ordering = ["valid_from", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["custody"], condition=Q(valid_to__isnull=True), name="legal_status_one_open"
            ),
        ]
        indexes = [
            models.Index(fields=["facility", "valid_from", "valid_to"], name="legal_status_at_idx")
        ]

    def __str__(self) -> str:
        return f"{self.custody_id} · {self.status} · {self.valid_from:%Y-%m-%d}"


class Hearing(models.Model):
    """A court hearing and its decision; a decision may change the legal status."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    detention = models.ForeignKey(Detention, on_delete=models.CASCADE, related_name="hearings")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=20, choices=HearingKind.choices)
    court = models.CharField(_("court"), max_length=200)
    case_number = models.CharField(_("case number"), max_length=100, blank=True)
    scheduled_at = models.DateTimeField(_("date and time"))
    outcome = models.CharField(
        _("decision"),
        max_length=20,
        choices=HearingOutcome.choices,
        default=HearingOutcome.PENDING,
    )
    decided_on = models.DateField(_("decided on"), null=True, blank=True)
    legal_status_after = models.CharField(
        _("legal status after the decision"), max_length=12, choices=LegalStatus.choices, blank=True
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scheduled_at", "pk"]
        verbose_name = _("court hearing")
        verbose_name_plural = _("court hearings")
        indexes = [
            models.Index(fields=["facility", "scheduled_at"], name="hearing_facility_at_idx")
        ]

    def __str__(self) -> str:
        return f"{self.court} · {self.scheduled_at:%Y-%m-%d}"


class Sentence(models.Model):
    """A sentence as pronounced, with what reduces it (credited days; pardon days come from
    ``PardonGrant``). ``consecutive_to`` names the sentence it follows; otherwise it runs
    concurrently from ``start_date``."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    detention = models.ForeignKey(Detention, on_delete=models.CASCADE, related_name="sentences")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    hearing = models.ForeignKey(
        Hearing, on_delete=models.SET_NULL, null=True, blank=True, related_name="sentences"
    )
    court = models.CharField(_("court"), max_length=200)
    case_number = models.CharField(_("case number"), max_length=100, blank=True)
    pronounced_on = models.DateField(_("pronounced on"))
    years = models.PositiveSmallIntegerField(_("years"), default=0)
    months = models.PositiveSmallIntegerField(_("months"), default=0)
    days = models.PositiveIntegerField(_("days"), default=0)
    life = models.BooleanField(_("life imprisonment"), default=False)
    start_date = models.DateField(_("start date"), null=True, blank=True)
    consecutive_to = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("consecutive to"),
    )
    credited_days = models.PositiveIntegerField(_("credited days"), default=0)
    status = models.CharField(
        _("status"), max_length=10, choices=SentenceStatus.choices, default=SentenceStatus.IN_FORCE
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("sentence")
        verbose_name_plural = _("sentences")
        constraints = [
            models.CheckConstraint(
                name="sentence_start_or_consecutive",
                condition=Q(start_date__isnull=False) | Q(consecutive_to__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.years}y {self.months}m {self.days}d · {self.court}"


class PardonDecree(models.Model):
    """A royal pardon decree, recorded once and applied to the prisoners it names."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(_("reference"), max_length=100, unique=True)
    occasion = models.CharField(_("occasion"), max_length=200)
    signed_on = models.DateField(_("signed on"))
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-signed_on", "-pk"]
        verbose_name = _("pardon decree")
        verbose_name_plural = _("pardon decrees")

    def __str__(self) -> str:
        return f"{self.reference} · {self.occasion}"


class PardonGrant(models.Model):
    """A decree applied to one prisoner: a reduction in days of one sentence, a release, or
    the commutation of a life sentence to a term."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    decree = models.ForeignKey(PardonDecree, on_delete=models.PROTECT, related_name="grants")
    detention = models.ForeignKey(Detention, on_delete=models.CASCADE, related_name="pardons")
    sentence = models.ForeignKey(
        Sentence, on_delete=models.PROTECT, null=True, blank=True, related_name="pardons"
    )
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=20, choices=PardonKind.choices)
    days = models.PositiveIntegerField(_("days"), default=0)
    applied_at = models.DateTimeField(_("applied at"))

    class Meta:
        ordering = ["applied_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["decree", "detention"], name="pardon_grant_once_per_decree"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decree_id} · {self.kind} · {self.days}"


class ConditionalRelease(models.Model):
    """A conditional release decision (libération conditionnelle)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    detention = models.ForeignKey(
        Detention, on_delete=models.CASCADE, related_name="conditional_releases"
    )
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    decided_on = models.DateField(_("decided on"))
    authority = models.CharField(_("authority"), max_length=200)
    decision_reference = models.CharField(_("decision reference"), max_length=100)
    status = models.CharField(
        _("decision"), max_length=10, choices=ConditionalReleaseStatus.choices
    )
    release_on = models.DateField(_("release on"), null=True, blank=True)
    supervision_until = models.DateField(_("under supervision until"), null=True, blank=True)
    conditions = models.TextField(_("conditions"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-decided_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.decision_reference} · {self.status}"


# -- Housing ---------------------------------------------------------------------------------
class CellOccupancy(models.Model):
    """How many persons a cell holds now: the counter that housing takes with a conditional
    update (``occupants < operational maximum``), so that two officers allocating the last
    place at the same moment never exceed the operational maximum."""

    cell = models.OneToOneField(Cell, on_delete=models.CASCADE, primary_key=True, related_name="+")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    occupants = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="cell_occupancy_non_negative", condition=Q(occupants__gte=0)
            )
        ]

    def __str__(self) -> str:
        return f"{self.cell_id}: {self.occupants}"


class CellAssignment(models.Model):
    """A stay of a person in a cell, ``[started_at, ended_at)``: the history of moves."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    custody = models.ForeignKey(
        CustodyPeriod, on_delete=models.CASCADE, related_name="cell_assignments"
    )
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    cell = models.ForeignKey(Cell, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(_("from"))
    ended_at = models.DateTimeField(_("until"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        ordering = ["started_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["custody"],
                condition=Q(ended_at__isnull=True),
                name="cell_assignment_one_open",
            ),
        ]
        indexes = [
            models.Index(fields=["facility", "started_at", "ended_at"], name="cell_assign_at_idx"),
            models.Index(fields=["cell", "ended_at"], name="cell_assign_cell_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.custody_id} → {self.cell_id} · {self.started_at:%Y-%m-%d}"


# -- Movements -------------------------------------------------------------------------------
class Movement(models.Model):
    """A movement out of an institution: a transfer (``to_facility``, no return) or a
    temporary absence (court, hospital, ...: out, then back). Both institutions of a
    transfer see it (scoping on ``facility`` or ``to_facility``)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    detention = models.ForeignKey(Detention, on_delete=models.CASCADE, related_name="movements")
    custody = models.ForeignKey(CustodyPeriod, on_delete=models.CASCADE, related_name="movements")
    facility = models.ForeignKey(
        Facility, on_delete=models.PROTECT, related_name="+", verbose_name=_("from")
    )
    to_facility = models.ForeignKey(
        Facility,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("to institution"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=MovementKind.choices)
    out_at = models.DateTimeField(_("left at"))
    expected_back_at = models.DateTimeField(_("expected back at"), null=True, blank=True)
    back_at = models.DateTimeField(_("back at"), null=True, blank=True)
    destination = models.CharField(_("destination"), max_length=200, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    escort = models.CharField(_("escort"), max_length=200, blank=True)
    authority_reference = models.CharField(_("order reference"), max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-out_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["custody"],
                condition=Q(back_at__isnull=True) & ~Q(kind=MovementKind.TRANSFER),
                name="movement_one_open_absence",
            ),
        ]
        indexes = [
            models.Index(fields=["facility", "out_at"], name="movement_facility_idx"),
            models.Index(fields=["to_facility", "out_at"], name="movement_to_facility_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} · {self.custody_id} · {self.out_at:%Y-%m-%d}"


class ReleaseRecord(models.Model):
    """The release of a prisoner: reason, decision, the checklist as ticked, and the number
    of the release certificate (PDF, Arabic and French)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    custody = models.OneToOneField(
        CustodyPeriod, on_delete=models.PROTECT, related_name="release_record"
    )
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=30, choices=DetentionEnd.choices)
    released_at = models.DateTimeField(_("released at"))
    authority = models.CharField(_("ordered by"), max_length=200, blank=True)
    decision_reference = models.CharField(_("decision reference"), max_length=100, blank=True)
    checklist = models.JSONField(_("checklist"), default=dict)
    certificate_number = models.CharField(_("certificate number"), max_length=60, unique=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["-released_at"]

    def __str__(self) -> str:
        return self.certificate_number


class CustodyIncident(models.Model):
    """An escape or a death in custody, with the facts the rules require (Mandela rules 69
    to 72 for deaths: the judicial authority and the family are informed, an independent
    investigation is asked for)."""

    class Kind(models.TextChoices):
        ESCAPE = "escape", _("escape")
        DEATH = "death", _("death in custody")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    custody = models.OneToOneField(CustodyPeriod, on_delete=models.PROTECT, related_name="incident")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    place = models.CharField(_("place"), max_length=200)
    circumstances = models.TextField(_("circumstances"))
    cause = models.TextField(_("apparent cause"), blank=True)
    authority_notified = models.CharField(_("judicial authority informed"), max_length=200)
    authority_notified_at = models.DateTimeField(_("informed at"))
    family_notified_at = models.DateTimeField(_("family informed at"), null=True, blank=True)
    investigation_reference = models.CharField(
        _("investigation reference"), max_length=100, blank=True
    )
    autopsy_requested = models.BooleanField(_("autopsy requested"), default=False)

    class Meta:
        ordering = ["-occurred_at"]

    def __str__(self) -> str:
        return f"{self.kind} · {self.custody_id} · {self.occurred_at:%Y-%m-%d}"


# -- Import ----------------------------------------------------------------------------------
class ImportBatch(models.Model):
    """One file of a legacy registry, validated (dry run) and, when every row is valid,
    applied in one transaction."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    facility = models.ForeignKey(
        Facility, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    filename = models.CharField(_("file"), max_length=200)
    sha256 = models.CharField(max_length=64)
    status = models.CharField(_("status"), max_length=12, choices=ImportStatus.choices)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_created = models.PositiveIntegerField(_("created"), default=0)
    rows_skipped = models.PositiveIntegerField(_("already imported"), default=0)
    errors = models.JSONField(_("errors"), default=list)
    created_by = models.ForeignKey(
        "core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} · {self.status}"
