"""Forms of the records pages (input validation only; the rules are the services')."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ..constants import PersonSex, PropertyStatus, Relationship
from ..models import CustodyPeriod, FamilyMember, Person
from ..services import CUSTODY_EDIT_FIELDS, FAMILY_FIELDS, PERSON_FIELDS
from .registry import COMMITTAL_FIELDS, IDENTITY_FIELDS, CommittalFields, FieldsetsMixin
from .registry import IdentityFields as _IdentityFields

LANGUAGE_CHOICES = [("ar", _("Arabic")), ("fr", _("French"))]

NOTICE_CHANNEL_CHOICES = [
    ("sms", _("SMS to a family member")),
    ("phone_call", _("phone call")),
    ("in_person", _("in person")),
    ("none", _("not told")),
]

RETURN_CHOICES = [
    (s.value, s.label)
    for s in (PropertyStatus.RETURNED, PropertyStatus.HANDED_OVER, PropertyStatus.DISPOSED)
]


class PersonEditForm(FieldsetsMixin, _IdentityFields):
    """Identity correction: the admission's identity fields, with the same layout."""

    FIELDSETS = [(_("Identity"), IDENTITY_FIELDS)]

    @classmethod
    def for_person(cls, person: Person, data=None) -> PersonEditForm:
        initial = {name: getattr(person, name) for name in PERSON_FIELDS}
        return cls(data, initial=initial)

    def changes(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in PERSON_FIELDS}


class CommittalEditForm(FieldsetsMixin, CommittalFields):
    """Committal correction: the admission's committal fields that may change."""

    FIELDSETS = [(_("Committal"), [n for n in COMMITTAL_FIELDS if n in CUSTODY_EDIT_FIELDS])]

    @classmethod
    def for_custody(cls, custody: CustodyPeriod, data=None) -> CommittalEditForm:
        initial = {
            name: getattr(custody, name) for name in CUSTODY_EDIT_FIELDS if name != "offence_codes"
        }
        initial["offence_codes"] = ", ".join(o.code for o in custody.offences.all())
        return cls(data, initial=initial)

    def changes(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in CUSTODY_EDIT_FIELDS}


class PhotoForm(forms.Form):
    # A plain file field: the service checks the content (JPEG or PNG, 2 MB at most).
    photo = forms.FileField(
        label=_("Photo"),
        help_text=_("JPEG or PNG, 2 MB at most."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png"}),
    )


class FamilyMemberForm(forms.Form):
    relationship = forms.ChoiceField(label=_("Relationship"), choices=Relationship.choices)
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    birth_date = forms.DateField(
        label=_("Date of birth"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Required for a child."),
    )
    sex = forms.ChoiceField(label=_("Sex"), choices=[("", "—"), *PersonSex.choices], required=False)
    phone = forms.CharField(
        label=_("Mobile phone"),
        required=False,
        max_length=30,
        help_text=_("For example 0612345678, or +33612345678 abroad."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    address = forms.CharField(label=_("Address"), required=False, max_length=300)
    carer = forms.CharField(
        label=_("Who looks after the child"),
        required=False,
        max_length=200,
        help_text=_("Required for a child under 18."),
    )
    is_emergency_contact = forms.BooleanField(label=_("Emergency contact"), required=False)
    is_next_of_kin = forms.BooleanField(label=_("Next of kin"), required=False)
    language = forms.ChoiceField(
        label=_("Language of messages"), choices=LANGUAGE_CHOICES, initial="ar"
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=300)

    @classmethod
    def for_member(cls, member: FamilyMember, data=None) -> FamilyMemberForm:
        return cls(data, initial={name: getattr(member, name) for name in FAMILY_FIELDS})

    def values(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in FAMILY_FIELDS}


class PropertyItemForm(forms.Form):
    description = forms.CharField(label=_("Description"), max_length=300)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, initial=1)
    stored_location = forms.CharField(label=_("Stored in"), required=False, max_length=100)


class PropertyReturnForm(forms.Form):
    status = forms.ChoiceField(label=_("Outcome"), choices=RETURN_CHOICES)
    recipient = forms.CharField(
        label=_("Returned to"),
        required=False,
        max_length=200,
        help_text=_("Required when handed over to someone; the prisoner by default."),
    )
    at = forms.DateTimeField(
        label=_("Date and time"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("Now, when left empty."),
    )


class AdmissionNoticeForm(forms.Form):
    channel = forms.ChoiceField(label=_("How was the family told?"), choices=NOTICE_CHANNEL_CHOICES)
    family_member = forms.ModelChoiceField(
        label=_("Family member"),
        queryset=FamilyMember.objects.none(),
        to_field_name="uuid",
        required=False,
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=300,
        help_text=_("Required when the family was not told: why not."),
    )

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["family_member"].queryset = members


class AlertAcknowledgeForm(forms.Form):
    action_taken = forms.CharField(
        label=_("Action taken"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Medical examination, report to the prosecutor, measures taken..."),
    )
