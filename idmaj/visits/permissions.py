"""Permission codes declared by the visits domain."""

from django.utils.translation import gettext_lazy as _

PERMISSIONS = {
    "visits.view": _("See visit sessions, bookings and visitor lists of the institution"),
    "visits.manage": _("Approve visitor lists, set restrictions, book and run visits"),
    "visits.configure": _("Set visit rooms, weekly sessions, excluded dates and booking rules"),
    "visits.override": _("Book a visit beyond a session's capacity, with a reason"),
    "visits.reports": _("See visit figures"),
}
