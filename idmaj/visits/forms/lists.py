"""Forms of the visitor lists (staff and family portal): input only, the rules are the
services'."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from idmaj.inmates.constants import Relationship

from ..constants import DocumentKind, RestrictionKind, VisitorStatus
from ..models import Visitor

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class VisitorRequestForm(forms.Form):
    committal_number = forms.CharField(
        label=_("Committal number"),
        max_length=50,
        help_text=_("As written on the committal papers or given by the institution."),
        widget=forms.TextInput(attrs={"dir": "ltr", "autocomplete": "off"}),
    )
    prisoner_name = forms.CharField(
        label=_("Prisoner's first and family name"),
        max_length=200,
        help_text=_("In Arabic or Latin letters."),
    )
    relationship = forms.ChoiceField(
        label=_("Your relationship to the prisoner"), choices=Relationship.choices
    )
    document_kind = forms.ChoiceField(label=_("Supporting document"), choices=DocumentKind.choices)
    document = forms.FileField(
        label=_("Document (photo or PDF)"),
        widget=forms.ClearableFileInput(
            attrs={"accept": "application/pdf,image/jpeg,image/png", "capture": "environment"}
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["document"].help_text = _(
            "PDF, JPEG or PNG, %(max)s MB at most. It proves your relationship."
        ) % {"max": settings.VISITS_DOCUMENT_MAX_BYTES // (1024 * 1024)}


class ChildForm(forms.Form):
    full_name = forms.CharField(label=_("Child's full name"), max_length=200, required=False)
    birth_date = forms.DateField(label=_("Date of birth"), required=False, widget=DATE)
    relationship = forms.ChoiceField(
        label=_("Relationship to the prisoner"),
        choices=Relationship.choices,
        initial=Relationship.CHILD,
        required=False,
    )

    def clean(self):
        data = super().clean()
        name, born = data.get("full_name"), data.get("birth_date")
        if name and not born:
            self.add_error("birth_date", _("Give the child's date of birth."))
        if born and not name:
            self.add_error("full_name", _("Give the child's full name."))
        if born and born > timezone.localdate():
            self.add_error("birth_date", _("A date of birth cannot be in the future."))
        return data

    def row(self):
        d = self.cleaned_data
        if not d.get("full_name"):
            return None
        return (d["full_name"], d["birth_date"], d.get("relationship") or Relationship.CHILD)


ChildFormSet = forms.formset_factory(ChildForm, extra=3, max_num=8, validate_max=True)


class ChildAddForm(forms.Form):
    full_name = forms.CharField(label=_("Child's full name"), max_length=200)
    birth_date = forms.DateField(label=_("Date of birth"), widget=DATE)
    relationship = forms.ChoiceField(
        label=_("Relationship to the prisoner"),
        choices=Relationship.choices,
        initial=Relationship.CHILD,
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


class RefuseForm(ReasonForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = _("Reason for refusal (the family is told)")


class RestrictionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Restriction"), choices=RestrictionKind.choices)
    child = forms.ModelChoiceField(
        label=_("Child"),
        queryset=Visitor.objects.none(),
        required=False,
        to_field_name="uuid",
        help_text=_("Only for “not with a named child”."),
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )
    starts_on = forms.DateField(label=_("From"), widget=DATE)
    ends_on = forms.DateField(
        label=_("Until (included)"), required=False, widget=DATE, help_text=_("Empty: no end.")
    )

    def __init__(self, *args, visitor: Visitor, **kwargs):
        kwargs.setdefault("initial", {"starts_on": timezone.localdate()})
        super().__init__(*args, **kwargs)
        self.fields["child"].queryset = Visitor.objects.filter(
            detention_id=visitor.detention_id,
            guardian__isnull=False,
            status__in=[VisitorStatus.APPROVED, VisitorStatus.PENDING],
        ).exclude(pk=visitor.pk)
