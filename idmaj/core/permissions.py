"""Permission codes declared by the core domain."""

from django.utils.translation import gettext_lazy as _

PERMISSIONS = {
    "audit.view": _("Read the audit trail"),
    "accounts.manage": _("Manage staff accounts and role assignments"),
    "accounts.view_lockouts": _("See and lift sign-in lockouts"),
    "reports.national": _("National figures and reports"),
}
