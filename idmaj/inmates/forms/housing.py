"""Forms of the housing and population pages: input validation only, the rules are the
services'."""

from __future__ import annotations

from datetime import datetime, time

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from idmaj.facilities.models import Cell, Region, Wing

_DATETIME = {"type": "datetime-local"}


class AllocateForm(forms.Form):
    """Allocate a cell or move to another one. The cell list is drawn by the template from
    ``selectors.cell_choices`` (grouped by wing); any cell of the institution validates here
    and the service says which rule a refused one breaks."""

    cell = forms.ModelChoiceField(
        label=_("Cell"), queryset=Cell.objects.none(), to_field_name="uuid"
    )
    at = forms.DateTimeField(
        label=_("Date and time of the move"),
        required=False,
        widget=forms.DateTimeInput(attrs=_DATETIME, format="%Y-%m-%dT%H:%M"),
        help_text=_("Leave empty for now."),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        required=False,
        help_text=_("Required for a medical, isolation or disciplinary cell."),
    )

    def __init__(self, *args, custody, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cell"].queryset = Cell.objects.filter(facility_id=custody.facility_id)


class CellSearchForm(forms.Form):
    q = forms.CharField(label=_("Find a cell"), required=False, max_length=50)


class HousingFilterForm(forms.Form):
    wing = forms.ModelChoiceField(
        label=_("Wing"),
        queryset=Wing.objects.none(),
        to_field_name="uuid",
        required=False,
        empty_label=_("All wings"),
    )
    show = forms.ChoiceField(
        label=_("Cells"),
        required=False,
        choices=[
            ("", _("all")),
            ("free", _("with free places")),
            ("overcrowded", _("overcrowded (above the beds)")),
        ],
    )

    def __init__(self, *args, facility, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["wing"].queryset = Wing.objects.filter(facility=facility).order_by(
            "building__name", "name"
        )


class MomentForm(forms.Form):
    """A date and an optional time: without a time, the end of that day."""

    on = forms.DateField(
        label=_("Date"),
        required=False,
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    time = forms.TimeField(
        label=_("Time"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_("Leave empty for the end of the day."),
    )

    def moment(self, *, default_now: bool = False):
        """A date (end of day) or an aware datetime; today (or now) when nothing is given."""
        data = self.cleaned_data if self.is_valid() else {}
        on = data.get("on")
        at = data.get("time")
        if on is None:
            if default_now:
                return timezone.now()
            on = timezone.localdate()
        if at is None:
            return on
        return timezone.make_aware(datetime.combine(on, time(at.hour, at.minute)))


class PopulationForm(MomentForm):
    region = forms.ModelChoiceField(
        label=_("Regional directorate"),
        queryset=Region.objects.order_by("code"),
        to_field_name="code",
        required=False,
        empty_label=_("All (the institutions you see)"),
    )
    facility = forms.ChoiceField(label=_("Institution"), required=False)

    def __init__(self, *args, facilities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facility"].choices = [("", _("All institutions of the choice above"))] + [
            (f.code, f"{f.code} · {f.name}") for f in facilities
        ]
