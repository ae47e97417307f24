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
from idmaj.facilities.models import Facility, LocalizedNameMixin

from .constants import CustodyStatus, LegalStatus, PersonSex

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
    created_at = models.DateTimeField(auto_now_add=True)

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
