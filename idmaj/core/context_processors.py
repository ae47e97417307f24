"""Navigation by role: each domain contributes entries with the permission they need."""

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from .scoping import access_for

# (url name, label, permission code or None for every signed-in user)
NAVIGATION = [
    ("core:home", _("Dashboard"), None),
    ("facilities:list", _("Institutions"), "facilities.view"),
    ("inmates:search", _("Registry"), "inmates.view"),
    ("inmates:alerts", _("Admission alerts"), "inmates.alerts"),
    ("inmates:housing_index", _("Housing"), "inmates.view"),
    ("inmates:population", _("Population"), "inmates.view"),
    ("inmates:releases_due", _("Releases due"), "inmates.view"),
    ("inmates:out_now", _("Out now"), "inmates.view"),
    ("inmates:movements", _("Movements"), "inmates.view"),
    ("inmates:pardon_list", _("Royal pardon decrees"), "inmates.view"),
    ("inmates:import", _("Import"), "inmates.import"),
    ("visits:today", _("Visits today"), "visits.view"),
    ("visits:requests", _("Visitor lists"), "visits.view"),
    ("visits:settings", _("Visit sessions"), "visits.configure"),
    ("visits:figures", _("Visit figures"), "visits.reports"),
    ("facilities:capacity", _("Capacity"), "facilities.view"),
    ("facilities:projects", _("Projects"), "facilities.view"),
    ("facilities:installations", _("Installations"), "facilities.view"),
    ("core:audit", _("Audit trail"), "audit.view"),
    ("core:accounts", _("Staff accounts"), "accounts.manage"),
    ("core:lockouts", _("Lockouts"), "accounts.view_lockouts"),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    access = access_for(user)
    items = []
    for name, label, perm in NAVIGATION:
        if perm and not access.has_perm(perm):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"url": url, "label": label, "active": False})
    # The current entry is the one whose address is the longest prefix of the page's.
    matches = [
        i
        for i in items
        if request.path == i["url"] or (i["url"] != "/" and request.path.startswith(i["url"]))
    ]
    if matches:
        max(matches, key=lambda i: len(i["url"]))["active"] = True
    return {"nav_items": items, "access": access}
