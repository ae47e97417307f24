"""Forms of the gate and of the figures: input validation only, the rules are the services'."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from idmaj.facilities.models import Facility, Region

from ..constants import VisitorStatus
from ..models import Visitor, VisitSession
from ..selectors.figures import parse_month

__all__ = [
    "BookingCodeForm",
    "IdentityCheckForm",
    "GateDayForm",
    "WalkInForm",
    "FiguresForm",
]


class BookingCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Booking code"),
        max_length=40,
        help_text=_("Type the code, or scan the QR code of the confirmation."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "inputmode": "text",
                "class": "gate-code",
                "dir": "ltr",
            }
        ),
    )


class IdentityCheckForm(forms.Form):
    cin = forms.CharField(
        label=_("Number of the identity card shown"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "dir": "ltr"}
        ),
    )


class GateDayForm(forms.Form):
    on = forms.DateField(
        label=_("Day"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class WalkInForm(forms.Form):
    """A visit without booking: today's session, the prisoner by committal number, then
    the visitors of the prisoner's list (shown once the prisoner is found)."""

    session = forms.ModelChoiceField(
        label=_("Session"), queryset=VisitSession.objects.none(), to_field_name="uuid"
    )
    committal_number = forms.CharField(label=_("Committal number"), max_length=50)
    visitors = forms.ModelMultipleChoiceField(
        label=_("Visitors"),
        queryset=Visitor.objects.none(),
        to_field_name="uuid",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    reason = forms.CharField(
        label=_("Why without booking"),
        max_length=300,
        required=False,
        help_text=_(
            "Kept in the audit trail. If the session is full, those allowed to exceed its "
            "capacity do so with this reason."
        ),
    )

    def __init__(self, *args, facility: Facility, custody=None, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["session"].queryset = (
            VisitSession.objects.filter(
                facility_id=facility.pk, date=today, cancelled_at__isnull=True
            )
            .select_related("room")
            .order_by("starts_at", "room__name")
        )
        self.fields["session"].label_from_instance = lambda s: (
            f"{timezone.localtime(s.starts_at):%H:%M}–{timezone.localtime(s.ends_at):%H:%M}"
            f" · {s.room.name} · {s.get_mode_display()}"
        )
        if custody is not None:
            self.fields["visitors"].queryset = Visitor.objects.filter(
                detention_id=custody.detention_id, status=VisitorStatus.APPROVED
            ).order_by("guardian_id", "full_name")
            self.fields["visitors"].label_from_instance = lambda v: (
                f"{v.full_name} · {v.cin}" if v.cin else v.full_name
            )


def _month_field(label):
    return forms.CharField(
        label=label,
        max_length=7,
        required=False,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
    )


class FiguresForm(forms.Form):
    month_from = _month_field(_("From (month)"))
    month_to = _month_field(_("To (month)"))
    region = forms.ModelChoiceField(
        label=_("Regional directorate"),
        queryset=Region.objects.none(),
        to_field_name="code",
        required=False,
    )
    facility = forms.ModelChoiceField(
        label=_("Institution"),
        queryset=Facility.objects.none(),
        to_field_name="code",
        required=False,
    )

    def __init__(self, *args, regions, facilities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions
        self.fields["facility"].queryset = facilities

    def _clean_month(self, name: str):
        value = self.cleaned_data.get(name)
        if not value:
            return None
        month = parse_month(value)
        if month is None:
            raise forms.ValidationError(_("Give a month as YYYY-MM."))
        return month

    def clean_month_from(self):
        return self._clean_month("month_from")

    def clean_month_to(self):
        return self._clean_month("month_to")
