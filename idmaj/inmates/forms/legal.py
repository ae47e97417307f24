"""Forms of the legal pages (hearings, sentences, pardons, conditional release, releases due):
input validation only, the rules are the services'."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from idmaj.facilities.models import Facility

from ..constants import ConditionalReleaseStatus, HearingKind, HearingOutcome, LegalStatus
from ..models import Hearing, Sentence
from ..selectors.legal import RELEASES_DUE_MAX_DAYS
from ..services.legal import MAX_DAYS, MAX_MONTHS, MAX_YEARS

DATE = {"type": "date"}
DATETIME = {"type": "datetime-local"}


class HearingForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of hearing"), choices=HearingKind.choices)
    court = forms.CharField(label=_("Court"), max_length=200)
    case_number = forms.CharField(label=_("Case number"), required=False, max_length=100)
    scheduled_at = forms.DateTimeField(
        label=_("Date and time"),
        widget=forms.DateTimeInput(attrs=DATETIME, format="%Y-%m-%dT%H:%M"),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class HearingDecisionForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Decision"),
        choices=[(v, label) for v, label in HearingOutcome.choices if v != HearingOutcome.PENDING],
    )
    decided_on = forms.DateField(
        label=_("Decided on"), widget=forms.DateInput(attrs=DATE, format="%Y-%m-%d")
    )
    legal_status_after = forms.ChoiceField(
        label=_("Legal status after the decision"),
        required=False,
        choices=[("", _("unchanged")), *LegalStatus.choices],
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class SentenceForm(forms.Form):
    court = forms.CharField(label=_("Court"), max_length=200)
    case_number = forms.CharField(label=_("Case number"), required=False, max_length=100)
    pronounced_on = forms.DateField(
        label=_("Pronounced on"), widget=forms.DateInput(attrs=DATE, format="%Y-%m-%d")
    )
    life = forms.BooleanField(label=_("Life imprisonment"), required=False)
    years = forms.IntegerField(label=_("Years"), min_value=0, max_value=MAX_YEARS, initial=0)
    months = forms.IntegerField(label=_("Months"), min_value=0, max_value=MAX_MONTHS, initial=0)
    days = forms.IntegerField(label=_("Days"), min_value=0, max_value=MAX_DAYS, initial=0)
    consecutive_to = forms.ModelChoiceField(
        label=_("Consecutive to"),
        queryset=Sentence.objects.none(),
        required=False,
        to_field_name="uuid",
        empty_label=_("none: runs from its start date"),
        help_text=_("A consecutive sentence starts on the day the previous one ends."),
    )
    start_date = forms.DateField(
        label=_("Start date"),
        required=False,
        widget=forms.DateInput(attrs=DATE, format="%Y-%m-%d"),
        help_text=_("Leave empty for a consecutive sentence."),
    )
    credited_days = forms.IntegerField(
        label=_("Credited days"),
        min_value=0,
        max_value=MAX_DAYS,
        initial=0,
        help_text=_("Detention already served before the start date (remand)."),
    )
    hearing = forms.ModelChoiceField(
        label=_("Hearing"),
        queryset=Hearing.objects.none(),
        required=False,
        to_field_name="uuid",
    )

    def __init__(self, *args, sentences, hearings, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["consecutive_to"].queryset = sentences
        self.fields["consecutive_to"].label_from_instance = _sentence_label
        self.fields["hearing"].queryset = hearings
        self.fields["hearing"].label_from_instance = _hearing_label

    def clean(self):
        data = super().clean()
        for name in ("years", "months", "days", "credited_days"):
            if data.get(name) is None:
                data[name] = 0
        return data


def _sentence_label(s: Sentence) -> str:
    length = (
        str(_("life imprisonment"))
        if s.life
        else str(_("%(y)s y %(m)s m %(d)s d")) % {"y": s.years, "m": s.months, "d": s.days}
    )
    return f"{s.pronounced_on:%Y-%m-%d} · {s.court} · {length}"


def _hearing_label(h: Hearing) -> str:
    return f"{h.scheduled_at:%Y-%m-%d} · {h.court} · {h.get_outcome_display()}"


class SentenceQuashForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        help_text=_("The decision that quashed or replaced the sentence, with its reference."),
    )


class ConditionalReleaseForm(forms.Form):
    status = forms.ChoiceField(label=_("Decision"), choices=ConditionalReleaseStatus.choices)
    decided_on = forms.DateField(
        label=_("Decided on"), widget=forms.DateInput(attrs=DATE, format="%Y-%m-%d")
    )
    authority = forms.CharField(label=_("Authority"), max_length=200)
    decision_reference = forms.CharField(label=_("Decision reference"), max_length=100)
    release_on = forms.DateField(
        label=_("Release on"), required=False, widget=forms.DateInput(attrs=DATE, format="%Y-%m-%d")
    )
    supervision_until = forms.DateField(
        label=_("Under supervision until"),
        required=False,
        widget=forms.DateInput(attrs=DATE, format="%Y-%m-%d"),
    )
    conditions = forms.CharField(
        label=_("Conditions"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class PardonDecreeForm(forms.Form):
    reference = forms.CharField(label=_("Reference"), max_length=100)
    occasion = forms.CharField(label=_("Occasion"), max_length=200)
    signed_on = forms.DateField(
        label=_("Signed on"), widget=forms.DateInput(attrs=DATE, format="%Y-%m-%d")
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class PardonApplyForm(forms.Form):
    """Beneficiaries typed or pasted (one per line) or a CSV file, not both."""

    lines = forms.CharField(
        label=_("Beneficiaries"),
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 12, "dir": "ltr", "placeholder": "OUJDA2-2026-000123;reduction;90"}
        ),
        help_text=_(
            "One prisoner per line: committal number;kind;days. The kind is reduction "
            "(days), release (no number) or commutation (the term in years)."
        ),
    )
    file = forms.FileField(label=_("or a CSV file"), required=False)

    MAX_BYTES = 2 * 1024 * 1024

    def clean(self):
        data = super().clean()
        text = (data.get("lines") or "").strip()
        upload = data.get("file")
        if text and upload:
            raise forms.ValidationError(_("Type the lines or send a file, not both."))
        if upload:
            if upload.size > self.MAX_BYTES:
                raise forms.ValidationError(_("The file is too large (2 MB at most)."))
            raw = upload.read()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                try:
                    text = raw.decode("cp1256")
                except UnicodeDecodeError as exc:
                    raise forms.ValidationError(
                        _("The file is not a text (CSV) file in UTF-8.")
                    ) from exc
        if not text.strip():
            raise forms.ValidationError(_("Give at least one beneficiary line."))
        data["text"] = text
        return data


class ReleasesDueForm(forms.Form):
    facility = forms.ModelChoiceField(
        label=_("Institution"),
        queryset=Facility.objects.none(),
        to_field_name="code",
        required=False,
        empty_label=_("all my institutions"),
    )
    days = forms.IntegerField(
        label=_("Next days"), min_value=0, max_value=RELEASES_DUE_MAX_DAYS, initial=30
    )

    def __init__(self, *args, facilities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = facilities


# -- corrections -----------------------------------------------------------------------------
CORRECTION_REASON_HELP = _(
    "What was wrong and where the right value comes from (judgment, court record). Kept in "
    "the history of changes."
)


def _reason_field() -> forms.CharField:
    return forms.CharField(
        label=_("Reason for the correction"),
        max_length=300,
        help_text=CORRECTION_REASON_HELP,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class HearingCorrectionForm(HearingForm):
    """The hearing as recorded, to correct; the decision and its date for a decided
    hearing only (a pending one is decided on its own page)."""

    outcome = forms.ChoiceField(
        label=_("Decision"),
        choices=[(v, label) for v, label in HearingOutcome.choices if v != HearingOutcome.PENDING],
    )
    decided_on = forms.DateField(
        label=_("Decided on"), widget=forms.DateInput(attrs=DATE, format="%Y-%m-%d")
    )
    reason = _reason_field()

    def __init__(self, *args, decided: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not decided:
            del self.fields["outcome"]
            del self.fields["decided_on"]


class SentenceCorrectionForm(SentenceForm):
    reason = _reason_field()

    def clean(self):
        data = super().clean()
        data["life"] = bool(data.get("life"))
        return data


def hearing_initial(hearing: Hearing) -> dict:
    return {
        "kind": hearing.kind,
        "court": hearing.court,
        "case_number": hearing.case_number,
        "scheduled_at": timezone.localtime(hearing.scheduled_at),
        "outcome": hearing.outcome,
        "decided_on": hearing.decided_on,
        "notes": hearing.notes,
    }


def sentence_initial(sentence: Sentence) -> dict:
    return {
        "court": sentence.court,
        "case_number": sentence.case_number,
        "pronounced_on": sentence.pronounced_on,
        "life": sentence.life,
        "years": sentence.years,
        "months": sentence.months,
        "days": sentence.days,
        "consecutive_to": sentence.consecutive_to.uuid if sentence.consecutive_to else None,
        "start_date": sentence.start_date,
        "credited_days": sentence.credited_days,
        "hearing": sentence.hearing.uuid if sentence.hearing else None,
    }
