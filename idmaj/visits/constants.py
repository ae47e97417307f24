"""Choices of the visits domain (the "Ziyara" booking system and the family portal)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class RoomKind(models.TextChoices):
    VISIT_ROOM = "visit_room", _("visit room")
    CLOSED_BOOTHS = "closed_booths", _("closed visit booths (behind glass)")
    FAMILY_SPACE = "family_space", _("family visit space")


class VisitMode(models.TextChoices):
    OPEN = "open", pgettext_lazy("visit mode", "open")
    CLOSED = "closed", pgettext_lazy("visit mode", "closed (behind glass)")
    FAMILY = "family", _("private family visit")


class RegimeFilter(models.TextChoices):
    """Which prisoners a session is for, by the separation regime of their legal status."""

    ALL = "all", _("all prisoners")
    REMAND = "remand", _("prisoners on remand")
    CONVICTED = "convicted", _("convicted prisoners")


class AccountStatus(models.TextChoices):
    UNVERIFIED = "unverified", _("phone not verified")
    ACTIVE = "active", pgettext_lazy("account status", "active")
    SUSPENDED = "suspended", _("suspended")
    PURGED = "purged", _("personal data purged")


class CodePurpose(models.TextChoices):
    VERIFY_PHONE = "verify_phone", _("phone verification")
    RESET_PASSWORD = "reset_password", _("password reset")
    CHANGE_PHONE = "change_phone", _("change of phone number")


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("awaiting decision")
    APPROVED = "approved", _("approved")
    REFUSED = "refused", _("refused")
    WITHDRAWN = "withdrawn", _("withdrawn")


class VisitorStatus(models.TextChoices):
    PENDING = "pending", _("awaiting decision")
    APPROVED = "approved", _("approved")
    REFUSED = "refused", _("refused")
    REMOVED = "removed", _("removed from the list")


class RestrictionKind(models.TextChoices):
    BANNED = "banned", _("banned from visiting")
    CLOSED_ONLY = "closed_only", _("closed visits only (behind glass)")
    NOT_WITH_CHILD = "not_with_child", _("not with a named child")


class DocumentKind(models.TextChoices):
    FAMILY_RECORD = "family_record", _("family record book (livret de famille)")
    BIRTH_CERTIFICATE = "birth_certificate", _("birth certificate")
    MARRIAGE_CERTIFICATE = "marriage_certificate", _("marriage certificate")
    POWER_OF_ATTORNEY = "power_of_attorney", _("lawyer's mandate")
    OTHER = "other", _("other document")


class BookingChannel(models.TextChoices):
    ONLINE = "online", _("online (family portal)")
    DESK = "desk", _("at the desk")
    PHONE = "phone", _("by telephone")
    WALK_IN = "walk_in", _("walk-in")


class BookingStatus(models.TextChoices):
    BOOKED = "booked", _("booked")
    FLAGGED = "flagged", _("to be reviewed by the officer")
    ARRIVED = "arrived", _("visitors arrived")
    IN_PROGRESS = "in_progress", _("visit in progress")
    COMPLETED = "completed", _("visit completed")
    NO_SHOW = "no_show", _("no-show")
    CANCELLED = "cancelled", pgettext_lazy("booking", "cancelled")


# A booking in one of these states holds its place in the session and the prisoner's allowance.
ACTIVE_BOOKING = (
    BookingStatus.BOOKED,
    BookingStatus.FLAGGED,
    BookingStatus.ARRIVED,
    BookingStatus.IN_PROGRESS,
)
# ... and these still count against the allowance of the week (the visit took place or the
# family did not come).
COUNTED_BOOKING = (*ACTIVE_BOOKING, BookingStatus.COMPLETED, BookingStatus.NO_SHOW)


class CancelReason(models.TextChoices):
    FAMILY = "family", _("cancelled by the family")
    STAFF = "staff", _("cancelled by the visits officer")
    TRANSFERRED = "transferred", _("the prisoner was transferred")
    RELEASED = "released", _("the prisoner left the institution")
    BANNED = "banned", _("a visitor is banned")
    EXCLUDED_DATE = "excluded_date", _("visits do not take place that day")
    SESSION_CANCELLED = "session_cancelled", _("the session was cancelled")
    CHANGED = "changed", _("replaced by another booking")
