"""Forms of the visit settings pages: input validation only, the rules are the services'."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from idmaj.facilities.models import Wing

from ..models import VisitPolicy, VisitRoom
from ..services.sessions import POLICY_FIELDS

_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
_TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
_DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


class PolicyForm(forms.ModelForm):
    class Meta:
        model = VisitPolicy
        # the rules' fields but the online switch, which has a page of its own
        fields = [f for f in POLICY_FIELDS if f != "online_booking"]
        widgets = {
            "rules_ar": forms.Textarea(attrs={"rows": 4, "dir": "rtl", "lang": "ar"}),
            "rules_fr": forms.Textarea(attrs={"rows": 4, "dir": "ltr", "lang": "fr"}),
            "allowed_items_ar": forms.Textarea(attrs={"rows": 3, "dir": "rtl", "lang": "ar"}),
            "allowed_items_fr": forms.Textarea(attrs={"rows": 3, "dir": "ltr", "lang": "fr"}),
        }
        help_texts = {
            "book_from_days": _("Families can book a session this many days ahead at most."),
            "book_until_days": _("... and this many days ahead at least."),
        }


class OnlineBookingForm(forms.Form):
    online_booking = forms.BooleanField(label=_("Online booking is live"), required=False)


class RoomForm(forms.ModelForm):
    class Meta:
        model = VisitRoom
        fields = ["name", "kind", "places", "seats", "in_service"]


class TemplateForm(forms.Form):
    room = forms.ModelChoiceField(
        label=_("Room"), queryset=VisitRoom.objects.none(), to_field_name="uuid"
    )
    weekday = forms.TypedChoiceField(label=_("Day of the week"), choices=WEEKDAYS, coerce=int)
    start_time = forms.TimeField(label=_("Starts at"), widget=_TIME)
    end_time = forms.TimeField(label=_("Ends at"), widget=_TIME)
    capacity_visits = forms.IntegerField(label=_("Visits"), min_value=1, max_value=500)
    capacity_visitors = forms.IntegerField(label=_("Visitors"), min_value=1, max_value=2000)
    mode = forms.ChoiceField(label=_("Mode"))
    regime = forms.ChoiceField(label=_("For"))
    wings = forms.ModelMultipleChoiceField(
        label=_("Wings"),
        queryset=Wing.objects.none(),
        to_field_name="uuid",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: prisoners of every wing."),
    )
    valid_from = forms.DateField(label=_("Valid from"), widget=_DATE, initial=timezone.localdate)
    valid_until = forms.DateField(label=_("Valid until"), widget=_DATE, required=False)

    def __init__(self, *args, facility, **kwargs):
        from ..models import SessionTemplate

        super().__init__(*args, **kwargs)
        self.fields["room"].queryset = VisitRoom.objects.filter(
            facility_id=facility.pk, in_service=True
        ).order_by("name")
        self.fields["wings"].queryset = Wing.objects.filter(facility_id=facility.pk).order_by(
            "name"
        )
        self.fields["mode"].choices = SessionTemplate._meta.get_field("mode").choices
        self.fields["regime"].choices = SessionTemplate._meta.get_field("regime").choices

    @classmethod
    def initial_for(cls, template) -> dict:
        return {
            "room": template.room.uuid,
            "weekday": template.weekday,
            "start_time": template.start_time,
            "end_time": template.end_time,
            "capacity_visits": template.capacity_visits,
            "capacity_visitors": template.capacity_visitors,
            "mode": template.mode,
            "regime": template.regime,
            "wings": [w.uuid for w in template.wings.all()],
            "valid_from": template.valid_from,
            "valid_until": template.valid_until,
        }


class TemplateEndForm(forms.Form):
    valid_until = forms.DateField(
        label=_("Last day"),
        widget=_DATE,
        initial=timezone.localdate,
        help_text=_("No session is made from this weekly session after that day."),
    )


class ExcludedDateForm(forms.Form):
    starts_on = forms.DateField(label=_("From"), widget=_DATE)
    ends_on = forms.DateField(
        label=_("Until"), widget=_DATE, required=False, help_text=_("Leave empty for one day.")
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)


class PauseForm(forms.Form):
    starts_at = forms.DateTimeField(
        label=_("From"), widget=_DATETIME, required=False, help_text=_("Leave empty for now.")
    )
    ends_at = forms.DateTimeField(
        label=_("Until"),
        widget=_DATETIME,
        required=False,
        help_text=_("Leave empty to end the pause by hand."),
    )
    message_ar = forms.CharField(
        label=_("Message to families (Arabic)"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "dir": "rtl", "lang": "ar"}),
    )
    message_fr = forms.CharField(
        label=_("Message to families (French)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "dir": "ltr", "lang": "fr"}),
    )


class PeriodForm(forms.Form):
    date_from = forms.DateField(label=_("From"), widget=_DATE, required=False)
    date_to = forms.DateField(label=_("Until"), widget=_DATE, required=False)

    def period(self) -> tuple[dt.date, dt.date]:
        data = self.cleaned_data if self.is_valid() else {}
        start = data.get("date_from") or timezone.localdate()
        end = data.get("date_to") or start + dt.timedelta(days=13)
        return start, max(start, end)


class SessionCancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)


class CapacityForm(forms.Form):
    capacity_visits = forms.IntegerField(label=_("Visits"), min_value=1, max_value=500)
    capacity_visitors = forms.IntegerField(label=_("Visitors"), min_value=1, max_value=2000)


class GenerateForm(forms.Form):
    days = forms.IntegerField(
        label=_("Days ahead"),
        min_value=1,
        max_value=180,
        required=False,
        help_text=_("Leave empty for the booking window."),
    )
