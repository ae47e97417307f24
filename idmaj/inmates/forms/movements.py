"""Forms of the movement pages: input validation only, the rules are the services'."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from idmaj.facilities.constants import HOUSING_STATUSES
from idmaj.facilities.models import Facility

from ..constants import RELEASE_REASONS, TEMPORARY_ABSENCES, DetentionEnd, MovementKind
from ..services.movements import RELEASE_CHECKLIST

_DATETIME = {"type": "datetime-local"}


def _now_local() -> str:
    return timezone.localtime(timezone.now()).strftime("%Y-%m-%dT%H:%M")


def _moment(label, *, required: bool = True, initial_now: bool = False, help_text=""):
    return forms.DateTimeField(
        label=label,
        required=required,
        widget=forms.DateTimeInput(attrs=_DATETIME, format="%Y-%m-%dT%H:%M"),
        initial=_now_local if initial_now else None,
        help_text=help_text,
    )


class TransferForm(forms.Form):
    to_facility = forms.ModelChoiceField(
        label=_("Destination institution"),
        queryset=Facility.objects.none(),
        to_field_name="code",
    )
    at = _moment(_("Left at"), initial_now=True)
    authority = forms.CharField(
        label=_("Transfer ordered by"),
        max_length=200,
        required=False,
        help_text=_("Leave empty for the General Delegation (DGAPR)."),
    )
    authority_reference = forms.CharField(
        label=_("Reference of the transfer order"), max_length=100
    )
    reason = forms.CharField(label=_("Reason"), max_length=300)
    escort = forms.CharField(label=_("Escort"), max_length=200, required=False)

    def __init__(self, *args, custody, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_facility"].queryset = (
            Facility.objects.filter(current_status__in=HOUSING_STATUSES)
            .exclude(pk=custody.facility_id)
            .order_by("code")
        )


class AbsenceStartForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind of absence"),
        choices=[(k.value, k.label) for k in MovementKind if k in TEMPORARY_ABSENCES],
    )
    destination = forms.CharField(
        label=_("Destination"),
        max_length=200,
        help_text=_("The court or the hospital, with its city."),
    )
    out_at = _moment(_("Left at"), initial_now=True)
    expected_back_at = _moment(_("Expected back at"), required=False)
    authority_reference = forms.CharField(
        label=_("Order reference"),
        max_length=100,
        required=False,
        help_text=_("Summons, extraction order or medical referral."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)
    escort = forms.CharField(label=_("Escort"), max_length=200, required=False)


class AbsenceEndForm(forms.Form):
    back_at = _moment(_("Back at"), initial_now=True)


class ReleaseForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Reason of the release"),
        choices=[(r.value, r.label) for r in DetentionEnd if r in RELEASE_REASONS],
    )
    at = _moment(_("Released at"), initial_now=True)
    authority = forms.CharField(
        label=_("Ordered by"),
        max_length=200,
        required=False,
        help_text=_(
            "Court, prosecutor or authority that ordered the release (not needed at the end of the sentence)."
        ),
    )
    decision_reference = forms.CharField(
        label=_("Decision reference"), max_length=100, required=False
    )
    checklist = forms.MultipleChoiceField(
        label=_("Release checklist"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The page lists the items itself (required ones marked), with their help.
        self.fields["checklist"].choices = [(item.code, item.label) for item in RELEASE_CHECKLIST]


class _IncidentForm(forms.Form):
    occurred_at = _moment(_("Occurred at"))
    place = forms.CharField(label=_("Place"), max_length=200)
    circumstances = forms.CharField(
        label=_("Circumstances"), widget=forms.Textarea(attrs={"rows": 4})
    )
    authority_notified = forms.CharField(
        label=_("Judicial authority informed"),
        max_length=200,
        help_text=_("The prosecutor informed of the facts (Nelson Mandela rules 69 to 72)."),
    )
    authority_notified_at = _moment(_("Judicial authority informed at"))
    family_notified_at = _moment(_("Family informed at"), required=False)
    # Set by the confirmation step: the first submission shows a summary to confirm.
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


class EscapeForm(_IncidentForm):
    pass


class DeathForm(_IncidentForm):
    cause = forms.CharField(
        label=_("Apparent cause"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    investigation_reference = forms.CharField(
        label=_("Investigation reference"), max_length=100, required=False
    )
    autopsy_requested = forms.BooleanField(label=_("Autopsy requested"), required=False)

    field_order = [
        "occurred_at",
        "place",
        "circumstances",
        "cause",
        "authority_notified",
        "authority_notified_at",
        "family_notified_at",
        "investigation_reference",
        "autopsy_requested",
        "confirmed",
    ]


class MovementFilterForm(forms.Form):
    facility = forms.ModelChoiceField(
        label=_("Institution"),
        queryset=Facility.objects.none(),
        to_field_name="code",
        required=False,
        empty_label=_("All"),
    )
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    kind = forms.ChoiceField(
        label=_("Kind"),
        required=False,
        choices=[("", _("All")), *MovementKind.choices],
    )

    def __init__(self, *args, facilities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = facilities


class OutNowFilterForm(forms.Form):
    facility = forms.ModelChoiceField(
        label=_("Institution"),
        queryset=Facility.objects.none(),
        to_field_name="code",
        required=False,
        empty_label=_("All"),
    )

    def __init__(self, *args, facilities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = facilities
