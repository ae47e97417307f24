"""HTML pages of the legal area: hearings and decisions, sentences, royal pardon decrees,
conditional release, the prisoners due for release; and the legal section of the custody
record page.

Each view validates a form and calls one service or selector. Who may see a record is
decided by the selectors (404 alike for "missing" and "not yours"); who may act is decided
by the services (``PermissionDenied`` → 403), and asked of ``access_for`` beforehand only to
show or hide links and forms.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from idmaj.core.errors import DomainError
from idmaj.core.errors import PermissionDenied as DomainPermissionDenied
from idmaj.core.scoping import access_for

from .. import sections, selectors, services
from ..constants import CustodyStatus, HearingOutcome, SentenceStatus
from ..forms.legal import (
    ConditionalReleaseForm,
    HearingCorrectionForm,
    HearingDecisionForm,
    HearingForm,
    PardonApplyForm,
    PardonDecreeForm,
    ReleasesDueForm,
    SentenceCorrectionForm,
    SentenceForm,
    SentenceQuashForm,
    hearing_initial,
    sentence_initial,
)
from ..models import CustodyPeriod, Hearing, Sentence

LEGAL = services.LEGAL_PERM
PARDON = services.PARDON_PERM


# -- helpers ---------------------------------------------------------------------------------
def _can_act(user, custody: CustodyPeriod) -> bool:
    return custody.status == CustodyStatus.IN_CUSTODY and access_for(user).has_perm(
        LEGAL, custody.facility_id
    )


def _current_custody(user, detention_id: int) -> CustodyPeriod | None:
    return selectors.current_custody_for_user(user=user, detention_id=detention_id)


def _data(request):
    """The submitted data on POST (even empty: an empty form is an invalid one), else None."""
    return request.POST if request.method == "POST" else None


def _bound(request):
    return (request.POST, request.FILES) if request.method == "POST" else (None, None)


def _apply_error(form, err: DomainError) -> int:
    if isinstance(err, DomainPermissionDenied):
        raise HttpForbidden from err
    form.add_error(err.field if err.field in form.fields else None, err.message)
    return err.status


def _back(custody: CustodyPeriod) -> str:
    return reverse("inmates:detail", args=[custody.uuid]) + "#legal"


def _form_page(request, form, *, title, custody, status=200, intro=None, submit=None):
    return render(
        request,
        "inmates/legal/form.html",
        {
            "form": form,
            "title": title,
            "custody": custody,
            "intro": intro,
            "submit": submit or _("Save"),
            "back": _back(custody) if custody else reverse("inmates:pardon_list"),
        },
        status=status,
    )


# -- the section of the custody record page --------------------------------------------------
@sections.register(30)
def legal_section(request: HttpRequest, custody: CustodyPeriod) -> dict:
    access = access_for(request.user)
    return {
        "template": "inmates/legal/_section.html",
        "file": selectors.legal_file(custody=custody),
        "can_act": _can_act(request.user, custody),
        "can_pardon": access.has_perm(PARDON, custody.facility_id),
    }


# -- hearings --------------------------------------------------------------------------------
@login_required
def hearing_new(request: HttpRequest, uuid) -> HttpResponse:
    custody = selectors.get_custody_for_user_or_404(user=request.user, uuid=uuid)
    if not access_for(request.user).has_perm(LEGAL, custody.facility_id):
        raise HttpForbidden
    status = 200
    form = HearingForm(_data(request))
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.hearing_schedule(actor=request.user, custody=custody, **form.cleaned_data)
            except DomainError as err:
                status = _apply_error(form, err)
            else:
                messages.success(request, _("Hearing recorded."))
                return redirect(_back(custody))
    return _form_page(
        request, form, title=_("Schedule a court hearing"), custody=custody, status=status
    )


@login_required
def hearing_decide(request: HttpRequest, uuid) -> HttpResponse:
    hearing: Hearing = selectors.get_hearing_for_user_or_404(user=request.user, uuid=uuid)
    custody = _current_custody(request.user, hearing.detention_id)
    if custody is None or not access_for(request.user).has_perm(LEGAL, custody.facility_id):
        raise HttpForbidden
    status = 200
    form = HearingDecisionForm(
        _data(request),
        initial={"decided_on": timezone.localdate(hearing.scheduled_at)},
    )
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.hearing_decide(actor=request.user, hearing=hearing, **form.cleaned_data)
            except DomainError as err:
                status = _apply_error(form, err)
            else:
                messages.success(request, _("Decision recorded."))
                return redirect(_back(custody))
    intro = f"{hearing.court} · {timezone.localtime(hearing.scheduled_at):%Y-%m-%d %H:%M}"
    if hearing.outcome != HearingOutcome.PENDING:
        intro += f" · {hearing.get_outcome_display()}"
    return _form_page(
        request,
        form,
        title=_("Record the decision of the hearing"),
        custody=custody,
        status=status,
        intro=intro,
    )


# -- sentences -------------------------------------------------------------------------------
@login_required
def sentence_new(request: HttpRequest, uuid) -> HttpResponse:
    custody = selectors.get_custody_for_user_or_404(user=request.user, uuid=uuid)
    if not access_for(request.user).has_perm(LEGAL, custody.facility_id):
        raise HttpForbidden
    kwargs = {
        "sentences": Sentence.objects.filter(
            detention_id=custody.detention_id, status=SentenceStatus.IN_FORCE
        ).order_by("pk"),
        "hearings": Hearing.objects.filter(detention_id=custody.detention_id).order_by(
            "-scheduled_at"
        ),
    }
    status = 200
    form = SentenceForm(_data(request), **kwargs)
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.sentence_record(actor=request.user, custody=custody, **form.cleaned_data)
            except DomainError as err:
                status = _apply_error(form, err)
            else:
                messages.success(request, _("Sentence recorded; expected release recomputed."))
                return redirect(_back(custody))
    return _form_page(request, form, title=_("Record a sentence"), custody=custody, status=status)


@login_required
def sentence_quash(request: HttpRequest, uuid) -> HttpResponse:
    sentence: Sentence = selectors.get_sentence_for_user_or_404(user=request.user, uuid=uuid)
    custody = _current_custody(request.user, sentence.detention_id)
    if custody is None or not access_for(request.user).has_perm(LEGAL, custody.facility_id):
        raise HttpForbidden
    status = 200
    form = SentenceQuashForm(_data(request))
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.sentence_quash(
                    actor=request.user, sentence=sentence, reason=form.cleaned_data["reason"]
                )
            except DomainError as err:
                status = _apply_error(form, err)
            else:
                messages.success(request, _("Sentence quashed; expected release recomputed."))
                return redirect(_back(custody))
    return _form_page(
        request,
        form,
        title=_("Quash or replace a sentence"),
        custody=custody,
        status=status,
        intro=f"{sentence.pronounced_on:%Y-%m-%d} · {sentence.court}",
        submit=_("Quash"),
    )


# -- corrections -----------------------------------------------------------------------------
def _acting_custody(request, detention_id: int) -> CustodyPeriod:
    """The custody period through which the user may act on a record of the detention: the
    one holding the prisoner now, in an institution where the user holds inmates.legal."""
    custody = _current_custody(request.user, detention_id)
    if custody is None or not access_for(request.user).has_perm(LEGAL, custody.facility_id):
        raise HttpForbidden
    return custody


@login_required
def hearing_edit(request: HttpRequest, uuid) -> HttpResponse:
    hearing: Hearing = selectors.get_hearing_for_user_or_404(user=request.user, uuid=uuid)
    custody = _acting_custody(request, hearing.detention_id)
    status = 200
    form = HearingCorrectionForm(
        _data(request),
        initial=hearing_initial(hearing),
        decided=hearing.outcome != HearingOutcome.PENDING,
    )
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.hearing_correct(actor=request.user, hearing=hearing, **form.cleaned_data)
            except DomainError as err:
                status = _apply_error(form, err)
            else:
                messages.success(request, _("Hearing corrected."))
                return redirect(_back(custody))
    return _form_page(
        request,
        form,
        title=_("Correct a court hearing"),
        custody=custody,
        status=status,
        intro=f"{hearing.court} · {timezone.localtime(hearing.scheduled_at):%Y-%m-%d %H:%M}",
        submit=_("Save the correction"),
    )


@login_required
def sentence_edit(request: HttpRequest, uuid) -> HttpResponse:
    sentence: Sentence = selectors.get_sentence_for_user_or_404(user=request.user, uuid=uuid)
    custody = _acting_custody(request, sentence.detention_id)
    if sentence.status != SentenceStatus.IN_FORCE:
        messages.error(request, _("This sentence is quashed: it can no longer be corrected."))
        return redirect(_back(custody))
    kwargs = {
        "sentences": Sentence.objects.filter(
            detention_id=custody.detention_id, status=SentenceStatus.IN_FORCE
        )
        .exclude(pk=sentence.pk)
        .order_by("pk"),
        "hearings": Hearing.objects.filter(detention_id=custody.detention_id).order_by(
            "-scheduled_at"
        ),
    }
    status = 200
    form = SentenceCorrectionForm(_data(request), initial=sentence_initial(sentence), **kwargs)
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.sentence_correct(
                    actor=request.user, sentence=sentence, **form.cleaned_data
                )
            except DomainError as err:
                status = _apply_error(form, err)
            else:
                messages.success(request, _("Sentence corrected; expected release recomputed."))
                return redirect(_back(custody))
    return _form_page(
        request,
        form,
        title=_("Correct a sentence"),
        custody=custody,
        status=status,
        intro=f"{sentence.pronounced_on:%Y-%m-%d} · {sentence.court}",
        submit=_("Save the correction"),
    )


# -- conditional release ---------------------------------------------------------------------
@login_required
def conditional_release_new(request: HttpRequest, uuid) -> HttpResponse:
    custody = selectors.get_custody_for_user_or_404(user=request.user, uuid=uuid)
    if not access_for(request.user).has_perm(LEGAL, custody.facility_id):
        raise HttpForbidden
    status = 200
    form = ConditionalReleaseForm(_data(request))
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.conditional_release_decide(
                    actor=request.user, custody=custody, **form.cleaned_data
                )
            except DomainError as err:
                status = _apply_error(form, err)
            else:
                messages.success(request, _("Conditional release decision recorded."))
                return redirect(_back(custody))
    return _form_page(
        request,
        form,
        title=_("Record a conditional release decision"),
        custody=custody,
        status=status,
    )


# -- royal pardon ----------------------------------------------------------------------------
@login_required
def pardon_list(request: HttpRequest) -> HttpResponse:
    if not selectors.can_see_pardons(request.user):
        raise HttpForbidden
    return render(
        request,
        "inmates/legal/pardon_list.html",
        {
            "decrees": selectors.pardon_decree_list(fetched_by=request.user),
            "can_pardon": access_for(request.user).has_perm(PARDON),
        },
    )


@login_required
def pardon_new(request: HttpRequest) -> HttpResponse:
    if not access_for(request.user).has_perm(PARDON):
        raise HttpForbidden
    status = 200
    form = PardonDecreeForm(_data(request))
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                decree = services.pardon_decree_create(actor=request.user, **form.cleaned_data)
            except DomainError as err:
                status = _apply_error(form, err)
            else:
                messages.success(request, _("Decree recorded: now apply it to its beneficiaries."))
                return redirect("inmates:pardon_apply", uuid=decree.uuid)
    return _form_page(
        request, form, title=_("Record a royal pardon decree"), custody=None, status=status
    )


@login_required
def pardon_detail(request: HttpRequest, uuid) -> HttpResponse:
    decree = selectors.get_pardon_decree_for_user_or_404(user=request.user, uuid=uuid)
    return render(
        request,
        "inmates/legal/pardon_detail.html",
        {
            "decree": decree,
            "grants": list(selectors.pardon_grant_list(fetched_by=request.user, decree=decree)),
            "can_pardon": access_for(request.user).has_perm(PARDON),
        },
    )


@login_required
def pardon_apply(request: HttpRequest, uuid) -> HttpResponse:
    decree = selectors.get_pardon_decree_for_user_or_404(user=request.user, uuid=uuid)
    if not access_for(request.user).has_perm(PARDON):
        raise HttpForbidden
    status = 200
    line_errors = None
    form = PardonApplyForm(*_bound(request))
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                grants = services.pardon_decree_apply(
                    actor=request.user,
                    decree=decree,
                    beneficiaries=services.pardon_lines_parse(form.cleaned_data["text"]),
                )
            except services.PardonApplicationError as err:
                form.add_error(None, err.message)
                line_errors = err.errors
            except DomainError as err:
                status = _apply_error(form, err)
            else:
                messages.success(
                    request,
                    _("Decree applied to %(count)s prisoners.") % {"count": len(grants)},
                )
                return redirect("inmates:pardon_detail", uuid=decree.uuid)
    return render(
        request,
        "inmates/legal/pardon_apply.html",
        {"decree": decree, "form": form, "line_errors": line_errors},
        status=status,
    )


# -- releases due ----------------------------------------------------------------------------
@login_required
def releases_due(request: HttpRequest) -> HttpResponse:
    facilities = selectors.releases_due_facilities(request.user)
    data = request.GET.copy()
    data.setdefault("days", "30")
    form = ReleasesDueForm(data, facilities=facilities)
    rows: list = []
    facility = None
    days = 30
    if form.is_valid():
        facility = form.cleaned_data["facility"]
        days = form.cleaned_data["days"]
        rows = selectors.releases_due(fetched_by=request.user, facility=facility, days=days)
    today = timezone.localdate()
    context = {
        "form": form,
        "rows": rows,
        "facility": facility,
        "days": days,
        "today": today,
        "overdue": sum(1 for r in rows if r.overdue),
        "print_query": data.urlencode(),
    }
    if request.GET.get("print"):
        return render(request, "inmates/legal/releases_due_print.html", context)
    template = (
        "inmates/legal/_releases_due_rows.html"
        if request.htmx
        else "inmates/legal/releases_due.html"
    )
    return render(request, template, context)


urlpatterns = [
    path("<uuid:uuid>/hearings/new/", hearing_new, name="hearing_new"),
    path("hearings/<uuid:uuid>/decide/", hearing_decide, name="hearing_decide"),
    path("<uuid:uuid>/sentences/new/", sentence_new, name="sentence_new"),
    path("hearings/<uuid:uuid>/edit/", hearing_edit, name="hearing_edit"),
    path("sentences/<uuid:uuid>/quash/", sentence_quash, name="sentence_quash"),
    path("sentences/<uuid:uuid>/edit/", sentence_edit, name="sentence_edit"),
    path(
        "<uuid:uuid>/conditional-release/new/",
        conditional_release_new,
        name="conditional_release_new",
    ),
    path("pardons/", pardon_list, name="pardon_list"),
    path("pardons/new/", pardon_new, name="pardon_new"),
    path("pardons/<uuid:uuid>/", pardon_detail, name="pardon_detail"),
    path("pardons/<uuid:uuid>/apply/", pardon_apply, name="pardon_apply"),
    path("releases-due/", releases_due, name="releases_due"),
]
