"""Roles as data: each role's permission codes. ``idmaj sync_roles`` keeps the tables in line.

A permission code is declared by its domain in ``<domain>/permissions.py``; a role here
lists codes. A role is held per institution, per regional directorate or nationally
(``RoleAssignment``): what it permits applies to the institutions that scope covers.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

ALL = "*"

STAFF_READ = ["facilities.view", "inmates.view"]

ROLES: dict[str, dict] = {
    "system_admin": {
        "label": _("System administrator"),
        "permissions": [ALL],
    },
    "central_admin": {
        "label": _("Central administration"),
        "permissions": [
            "facilities.view",
            "facilities.edit",
            "facilities.manage_projects",
            "facilities.manage_installations",
            "reports.national",
            "inmates.view",
            "inmates.pardon",
            "visits.view",
            "visits.reports",
        ],
    },
    "regional_director": {
        "label": _("Regional director"),
        "permissions": [
            "facilities.view",
            "reports.national",
            "inmates.view",
            "visits.view",
            "visits.reports",
        ],
    },
    "institution_director": {
        "label": _("Institution director"),
        "permissions": [
            "facilities.view",
            "facilities.edit",
            "inmates.view",
            "inmates.admit",
            "inmates.edit",
            "inmates.legal",
            "inmates.house",
            "inmates.move",
            "inmates.release",
            "inmates.incident",
            "inmates.alerts",
            "inmates.import",
            "visits.view",
            "visits.manage",
            "visits.configure",
            "visits.override",
            "visits.reports",
        ],
    },
    "registry_officer": {
        "label": _("Registry officer"),
        "permissions": [
            *STAFF_READ,
            "inmates.admit",
            "inmates.edit",
            "inmates.legal",
            "inmates.pardon",
            "inmates.house",
            "inmates.move",
            "inmates.release",
            "inmates.import",
        ],
    },
    "physician": {"label": _("Physician"), "permissions": STAFF_READ},
    "nurse": {"label": _("Nurse"), "permissions": STAFF_READ},
    "catering_officer": {"label": _("Catering officer"), "permissions": STAFF_READ},
    "rehabilitation_officer": {"label": _("Rehabilitation officer"), "permissions": STAFF_READ},
    "visits_officer": {
        "label": _("Visits officer"),
        "permissions": [
            *STAFF_READ,
            "visits.view",
            "visits.manage",
            "visits.configure",
            "visits.reports",
        ],
    },
    "security_officer": {
        "label": _("Security officer"),
        "permissions": [*STAFF_READ, "inmates.house", "inmates.move", "inmates.incident"],
    },
    "auditor": {
        "label": _("Auditor"),
        "permissions": [
            "facilities.view",
            "inmates.view",
            "audit.view",
            "reports.national",
            "visits.view",
            "visits.reports",
        ],
        "read_only": True,
    },
}

# The home dashboard and the navigation a role sees first.
MEDICAL_ROLES = {"physician", "nurse"}


def role_label(code: str):
    """A role's label in the active language (the Role table keeps the source language)."""
    spec = ROLES.get(code)
    return spec["label"] if spec else code
