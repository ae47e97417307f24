"""Permission codes declared by the inmate registry."""

from django.utils.translation import gettext_lazy as _

PERMISSIONS = {
    "inmates.view": _("See the prisoners of the institution and search the registry"),
    "inmates.admit": _("Admit prisoners (committal)"),
    "inmates.edit": _("Correct the identity and committal records of prisoners"),
    "inmates.legal": _("Record court hearings, decisions, sentences and conditional releases"),
    "inmates.pardon": _("Record pardon decrees and apply them to prisoners"),
    "inmates.house": _("Allocate prisoners to cells and move them"),
    "inmates.move": _("Transfer prisoners and record temporary absences"),
    "inmates.release": _("Release prisoners"),
    "inmates.incident": _("Record escapes and deaths in custody"),
    "inmates.alerts": _("Receive and acknowledge admission alerts (injuries, ill-treatment)"),
    "inmates.import": _("Import a legacy registry"),
}
