"""Forms of the booking pages (family portal and staff desk): input only, the rules are the
service's (``services.bookings``)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ..constants import BookingChannel
from ..services.bookings import STAFF_CHANNELS


class _VisitorsMixin:
    def _visitor_choices(self, visitors) -> None:
        self.visitor_objects = {str(v.uuid): v for v in visitors}
        self.fields["visitors"].choices = [(str(v.uuid), v.full_name) for v in visitors]

    def chosen_visitors(self) -> list:
        return [self.visitor_objects[u] for u in self.cleaned_data["visitors"]]


class FamilyBookForm(_VisitorsMixin, forms.Form):
    """Pick a session (radio buttons drawn by the template, grouped by day) and who comes."""

    session = forms.UUIDField(
        label=_("Session"), error_messages={"required": _("Choose a session.")}
    )
    visitors = forms.MultipleChoiceField(
        label=_("Who comes"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one visitor.")},
    )

    def __init__(self, *args, visitors, **kwargs):
        super().__init__(*args, **kwargs)
        self._visitor_choices(visitors)


class StaffFindForm(forms.Form):
    committal_number = forms.CharField(label=_("Committal number"), max_length=50)


class StaffBookForm(_VisitorsMixin, forms.Form):
    session = forms.UUIDField(
        label=_("Session"), error_messages={"required": _("Choose a session.")}
    )
    visitors = forms.MultipleChoiceField(label=_("Visitors"), widget=forms.CheckboxSelectMultiple)
    channel = forms.ChoiceField(
        label=_("Booked"),
        choices=[(c.value, c.label) for c in BookingChannel if c in STAFF_CHANNELS],
        initial=BookingChannel.DESK,
        widget=forms.RadioSelect,
    )
    over_capacity_reason = forms.CharField(
        label=_("Reason for exceeding the capacity"),
        max_length=300,
        required=False,
        help_text=_("Only to book a full session: the reason is recorded."),
    )

    def __init__(self, *args, visitors, can_override: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self._visitor_choices(visitors)
        if not can_override:
            del self.fields["over_capacity_reason"]


class StaffCancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason for cancelling"), max_length=300)
