"""HTML pages of the inmate registry: the search box, the admission form, a custody record.

Each view validates its input with a form, calls one selector or ``inmate_admit`` and renders.
Who may see a custody period is decided by the selectors (404 alike for "missing" and "not
yours"); who may admit is decided by the service (``PermissionDenied`` → 403).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from idmaj.core.errors import DomainError
from idmaj.core.errors import PermissionDenied as DomainPermissionDenied
from idmaj.core.scoping import access_for
from idmaj.core.selectors import record_history
from idmaj.facilities.models import Facility

from .. import selectors, services
from ..constants import CustodyStatus
from ..forms.registry import AdmissionForm, SearchForm
from ..sections import sections_for

ADMIT = "inmates.admit"


def _admit_facilities(user):
    """Institutions where the user may admit (the form's choices)."""
    ids = access_for(user).perm_facility_ids(ADMIT)
    qs = Facility.objects.order_by("code")
    return qs if ids is None else qs.filter(pk__in=ids)


@login_required
def search(request):
    form = SearchForm(request.GET)
    q = form.cleaned_data.get("q", "").strip() if form.is_valid() else ""
    results = selectors.inmate_search(fetched_by=request.user, q=q) if q else []
    context = {
        "form": form,
        "q": q,
        "results": results,
        "can_admit": access_for(request.user).has_perm(ADMIT),
    }
    template = "inmates/_results.html" if request.htmx else "inmates/search.html"
    return render(request, template, context)


@login_required
def admit(request):
    facilities = _admit_facilities(request.user)
    if not facilities.exists():
        raise HttpForbidden
    # Search before create: the admission form opens from a search (``?q=``), so that the
    # officer has looked for the person on file first; the service still checks for likely
    # duplicates when the form is sent.
    searched = (request.POST.get("searched") or request.GET.get("q") or "").strip()[:100]
    if request.method == "GET" and not searched:
        messages.info(request, _("Search the registry first: the person may already be on file."))
        return redirect("inmates:search")
    candidates = None
    status = 200
    if request.method == "POST":
        form = AdmissionForm(request.POST, facilities=facilities)
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            kwargs: dict = {
                "facility": data["facility"],
                "committal": services.CommittalData(**form.committal_data()),
                "confirm_new_person": data["confirm_new_person"],
            }
            if data["existing_person"] is not None:
                kwargs["existing_person"] = data["existing_person"]
            else:
                kwargs["person_data"] = services.PersonData(**form.person_data())
            try:
                custody = services.inmate_admit(actor=request.user, **kwargs)
            except services.PossibleDuplicateError as err:
                form.add_error(None, err.message)
                candidates = err.candidates
                status = 409
            except DomainPermissionDenied as err:
                raise HttpForbidden from err
            except DomainError as err:
                field = err.field if err.field in form.fields else None
                form.add_error(field, err.message)
                status = err.status
            else:
                messages.success(
                    request,
                    _("Admitted: committal number %(number)s.")
                    % {"number": custody.committal_number},
                )
                return redirect("inmates:detail", uuid=custody.uuid)
    else:
        form = AdmissionForm(facilities=facilities)
    return render(
        request,
        "inmates/admit.html",
        {
            "form": form,
            "candidates": candidates,
            "searched": searched,
            "search_url": reverse("inmates:search") + "?" + urlencode({"q": searched}),
        },
        status=status,
    )


@login_required
def detail(request, uuid):
    custody = selectors.get_custody_for_user_or_404(user=request.user, uuid=uuid)
    history = record_history(
        fetched_by=request.user, object_type="inmates.custodyperiod", object_id=str(custody.uuid)
    )
    # Identity corrections made through this institution (the person is national: entries
    # written by other institutions stay on their chains).
    history += [
        h
        for h in record_history(
            fetched_by=request.user,
            object_type="inmates.person",
            object_id=str(custody.person.uuid),
        )
        if h["entry"].facility_id == custody.facility_id
    ]
    history.sort(key=lambda h: (h["entry"].at, h["entry"].pk))
    access = access_for(request.user)
    return render(
        request,
        "inmates/detail.html",
        {
            "custody": custody,
            "person": custody.person,
            "offences": list(custody.offences.all()),
            "history": history,
            "sections": sections_for(request, custody),
            "show_findings": selectors.may_see_admission_findings(request.user, custody),
            "can_edit": custody.status == CustodyStatus.IN_CUSTODY
            and access.has_perm("inmates.edit", custody.facility_id),
        },
    )
