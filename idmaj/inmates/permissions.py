"""Permission codes declared by the inmate registry."""

from django.utils.translation import gettext_lazy as _

PERMISSIONS = {
    "inmates.view": _("See the prisoners of the institution and search the registry"),
    "inmates.admit": _("Admit prisoners (committal)"),
    "inmates.edit": _("Correct the identity and committal records of prisoners"),
}
