"""Family portal pages of the visitor lists.

* ``portal:home``: my prisoners (name, where held, the institution's address) and my
  requests awaiting a decision or refused (with the reason); the link to ask for a new one;
* ``portal:request_new``: the request form (committal number, prisoner's name,
  relationship, document, children);
* ``portal:prisoner``: one prisoner, by the family's own visitor entry: where held, the
  address, the visiting rules and what may be brought, who of the family may come, the link
  to book;
* ``portal:request_withdraw``, ``portal:child_add``: small forms posting to a service.

A family reaches only its own entries: any other identifier answers 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from idmaj.core.errors import DomainError

from .. import selectors, services
from ..constants import RequestStatus
from ..forms.lists import ChildAddForm, ChildFormSet, VisitorRequestForm
from ..portal_auth import family_required


def _book_url(uuid) -> str | None:
    """The booking page of a prisoner, when the bookings area provides it."""
    try:
        return reverse("portal:book", args=[uuid])
    except NoReverseMatch:
        return None


@family_required
def home(request):
    family = request.family
    prisoners = selectors.family_prisoners(account=family)
    open_requests = [
        r
        for r in selectors.family_requests(account=family)[:50]
        if r.status in (RequestStatus.PENDING, RequestStatus.REFUSED)
    ]
    for r in open_requests:
        r.prisoner = selectors.person_name(r.detention.person)
    return render(
        request,
        "visits/portal/lists/home.html",
        {"family": family, "prisoners": prisoners, "requests": open_requests},
    )


@family_required
def request_new(request):
    family = request.family
    status = 200
    if request.method == "POST":
        form = VisitorRequestForm(request.POST, request.FILES)
        children = ChildFormSet(request.POST, prefix="children")
        status = 400
        if form.is_valid() and children.is_valid():
            data = form.cleaned_data
            rows = [row for row in (f.row() for f in children.forms if f.has_changed()) if row]
            try:
                services.visitor_request_create(
                    account=family,
                    committal_number=data["committal_number"],
                    prisoner_name=data["prisoner_name"],
                    relationship=data["relationship"],
                    document_kind=data["document_kind"],
                    document=data["document"],
                    children=rows,
                )
            except DomainError as err:
                field = err.field if err.field in form.fields else None
                form.add_error(field, err.message)
                status = err.status
            else:
                messages.success(
                    request,
                    _(
                        "Your request was sent. The institution will examine it; you will "
                        "receive an SMS with the decision."
                    ),
                )
                return redirect("portal:home")
    else:
        form = VisitorRequestForm()
        children = ChildFormSet(prefix="children")
    return render(
        request,
        "visits/portal/lists/request_new.html",
        {"family": family, "form": form, "children": children},
        status=status,
    )


@family_required
@require_POST
def request_withdraw(request, uuid):
    family = request.family
    req = selectors.get_family_request_or_404(account=family, uuid=uuid)
    try:
        services.visitor_request_withdraw(account=family, request=req)
    except DomainError as err:
        messages.error(request, err.message)
    else:
        messages.success(request, _("Your request was withdrawn."))
    return redirect("portal:home")


@family_required
def prisoner(request, uuid):
    family = request.family
    entry = selectors.get_family_prisoner_or_404(account=family, uuid=uuid)
    return render(
        request,
        "visits/portal/lists/prisoner.html",
        {
            "family": family,
            "p": entry,
            "book_url": _book_url(entry.uuid),
            "child_form": ChildAddForm(),
            "pending_children": selectors.family_pending_children(
                account=family, adult=entry.adult
            ),
        },
    )


@family_required
@require_POST
def child_add(request, uuid):
    family = request.family
    entry = selectors.get_family_prisoner_or_404(account=family, uuid=uuid)
    form = ChildAddForm(request.POST)
    if form.is_valid():
        try:
            services.visitor_child_add(
                account=family, adult_visitor=entry.adult, **form.cleaned_data
            )
        except DomainError as err:
            messages.error(request, err.message)
        else:
            messages.success(request, _("The child was added; the institution will examine it."))
    else:
        for errors in form.errors.values():
            for e in errors:
                messages.error(request, e)
    return redirect("portal:prisoner", uuid=entry.uuid)


urlpatterns = [
    path("", home, name="home"),
    path("requests/new/", request_new, name="request_new"),
    path("requests/<uuid:uuid>/withdraw/", request_withdraw, name="request_withdraw"),
    path("prisoners/<uuid:uuid>/", prisoner, name="prisoner"),
    path("prisoners/<uuid:uuid>/children/add/", child_add, name="child_add"),
]
