"""Permission codes declared by the facilities domain."""

from django.utils.translation import gettext_lazy as _

PERMISSIONS = {
    "facilities.view": _("See institutions, their structure and capacity"),
    "facilities.edit": _("Edit institutions, buildings, wings and cells"),
    "facilities.manage_projects": _("Record infrastructure projects"),
    "facilities.manage_installations": _("Keep the installations register"),
}
