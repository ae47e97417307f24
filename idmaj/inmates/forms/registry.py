"""Forms of the inmate registry pages: input validation only, the rules are the services'."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from idmaj.facilities.models import Facility

from ..constants import LegalStatus, PersonSex
from ..models import Person
from ..services import PERSON_FIELDS


class SearchForm(forms.Form):
    """The one search box (the input itself is written in ``inmates/search.html``)."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)


class IdentityFields(forms.Form):
    """The identity of a person, as at admission and on the identity correction page."""

    first_name_ar = forms.CharField(label=_("First name (Arabic)"), required=False, max_length=100)
    family_name_ar = forms.CharField(
        label=_("Family name (Arabic)"), required=False, max_length=100
    )
    father_name_ar = forms.CharField(
        label=_("Father's name (Arabic)"), required=False, max_length=100
    )
    mother_name_ar = forms.CharField(
        label=_("Mother's name (Arabic)"), required=False, max_length=200
    )
    first_name_latin = forms.CharField(
        label=_("First name (Latin)"), required=False, max_length=100
    )
    family_name_latin = forms.CharField(
        label=_("Family name (Latin)"), required=False, max_length=100
    )
    father_name_latin = forms.CharField(
        label=_("Father's name (Latin)"), required=False, max_length=100
    )
    mother_name_latin = forms.CharField(
        label=_("Mother's name (Latin)"), required=False, max_length=200
    )
    birth_date = forms.DateField(
        label=_("Date of birth"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    birth_place = forms.CharField(label=_("Place of birth"), required=False, max_length=150)
    sex = forms.ChoiceField(label=_("Sex"), choices=PersonSex.choices)
    nationality = forms.CharField(label=_("Nationality"), initial="MA", max_length=2)
    cin = forms.CharField(
        label=_("National identity card number (CIN)"), required=False, max_length=20
    )
    distinguishing_marks = forms.CharField(
        label=_("Distinguishing marks"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    languages = forms.CharField(label=_("Languages spoken"), required=False, max_length=200)

    def person_data(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in PERSON_FIELDS}


class CommittalFields(forms.Form):
    """The committal fields that may be corrected after admission (and their clean-up)."""

    committing_authority = forms.CharField(label=_("Committing authority"), max_length=200)
    court = forms.CharField(label=_("Court"), required=False, max_length=200)
    warrant_reference = forms.CharField(label=_("Warrant reference"), max_length=100)
    case_number = forms.CharField(label=_("Case number"), required=False, max_length=100)
    escort = forms.CharField(label=_("Escort"), required=False, max_length=200)
    offence_codes = forms.CharField(
        label=_("Offences"),
        required=False,
        help_text=_("Offence codes, separated by commas."),
    )

    def clean_offence_codes(self) -> list[str]:
        raw = self.cleaned_data.get("offence_codes") or ""
        return [c.strip() for c in raw.split(",") if c.strip()]


class FieldsetsMixin:
    """``FIELDSETS``: (legend, field names) in page order; ``fieldsets()`` gives the bound
    fields, for ``inmates/records/_fieldsets.html`` (admission and the correction pages
    share the layout)."""

    FIELDSETS: list[tuple] = []

    def fieldsets(self) -> list[tuple]:
        return [
            (legend, [self[name] for name in names if name in self.fields])
            for legend, names in self.FIELDSETS
        ]


IDENTITY_FIELDS = list(PERSON_FIELDS)
COMMITTAL_FIELDS = [
    "committed_at",
    "committing_authority",
    "court",
    "warrant_reference",
    "case_number",
    "legal_status",
    "escort",
    "offence_codes",
]
RULE7_FIELDS = ["injuries_observed", "ill_treatment_complaint"]


class AdmissionForm(FieldsetsMixin, IdentityFields, CommittalFields):
    """The admission: the institution, the person's identity, the committal and what was
    seen and said at admission (Mandela rule 7).

    ``existing_person`` (a UUID) and ``confirm_new_person`` are set by the officer's choice
    after the service answered that persons on file may be the one being admitted.
    """

    facility = forms.ModelChoiceField(
        label=_("Institution"), queryset=Facility.objects.none(), to_field_name="code"
    )
    committed_at = forms.DateTimeField(
        label=_("Committed at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    legal_status = forms.ChoiceField(label=_("Legal status"), choices=LegalStatus.choices)
    injuries_observed = forms.CharField(
        label=_("Visible injuries"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What you see: where, what kind. The director is alerted."),
    )
    ill_treatment_complaint = forms.CharField(
        label=_("Complaint of prior ill-treatment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the person says, in their words. The director is alerted."),
    )
    # the officer's choice after a possible duplicate
    existing_person = forms.UUIDField(required=False, widget=forms.HiddenInput)
    confirm_new_person = forms.BooleanField(required=False, widget=forms.HiddenInput)

    field_order = ["facility", *IDENTITY_FIELDS, *COMMITTAL_FIELDS, *RULE7_FIELDS]
    FIELDSETS = [
        (None, ["facility"]),
        (_("Identity"), IDENTITY_FIELDS),
        (_("Committal"), COMMITTAL_FIELDS),
        (_("Seen and said at admission"), RULE7_FIELDS),
    ]
    # The fields of ``CommittalData`` (besides the offence codes).
    COMMITTAL_DATA = (
        "committed_at",
        "committing_authority",
        "court",
        "warrant_reference",
        "case_number",
        "legal_status",
        "escort",
        *RULE7_FIELDS,
    )

    def __init__(self, *args, facilities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = facilities
        only = list(facilities[:2])
        if len(only) == 1:  # an officer of one institution admits there: nothing to choose
            self.fields["facility"].initial = only[0]
            self.fields["facility"].empty_label = None

    def clean_existing_person(self) -> Person | None:
        key = self.cleaned_data.get("existing_person")
        if key is None:
            return None
        person = Person.objects.filter(uuid=key).first()
        if person is None:
            raise forms.ValidationError(_("No person on file with this identifier."))
        return person

    def committal_data(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self.COMMITTAL_DATA}
        data["offence_codes"] = self.cleaned_data["offence_codes"]
        return data
