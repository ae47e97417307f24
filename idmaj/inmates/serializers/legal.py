"""JSON shapes of the legal API (thin: no business rule here)."""

from __future__ import annotations

from rest_framework import serializers

from ..constants import (
    ConditionalReleaseStatus,
    HearingKind,
    HearingOutcome,
    LegalStatus,
    PardonKind,
)
from ..models import ConditionalRelease, Hearing, PardonDecree


def _values(choices) -> str:
    return ", ".join(value for value, _label in choices)


def _choice(choices, *, required: bool = True, **kwargs) -> serializers.CharField:
    """A choice as a plain string in the schema (an enum named "kind" or "status" would
    collide with the other domains' enums), validated against ``choices``."""
    allowed = [value for value, _label in choices]
    return serializers.CharField(
        required=required,
        max_length=30,
        help_text=kwargs.pop("help_text", "") or _values(choices),
        validators=[_OneOf(allowed)],
        **kwargs,
    )


class _OneOf:
    def __init__(self, allowed):
        self.allowed = allowed

    def __call__(self, value):
        if value not in self.allowed and value != "":
            raise serializers.ValidationError(f"one of: {', '.join(self.allowed)}")


class HearingSerializer(serializers.ModelSerializer):
    facility = serializers.CharField(source="facility.code", read_only=True)
    kind = serializers.CharField(read_only=True, help_text=_values(HearingKind.choices))
    outcome = serializers.CharField(read_only=True, help_text=_values(HearingOutcome.choices))
    legal_status_after = serializers.CharField(
        read_only=True, help_text="empty, or " + _values(LegalStatus.choices)
    )

    class Meta:
        model = Hearing
        fields = [
            "uuid",
            "kind",
            "court",
            "case_number",
            "scheduled_at",
            "outcome",
            "decided_on",
            "legal_status_after",
            "notes",
            "facility",
        ]


class HearingInputSerializer(serializers.Serializer):
    kind = _choice(HearingKind.choices)
    court = serializers.CharField(max_length=200)
    case_number = serializers.CharField(max_length=100, required=False, allow_blank=True)
    scheduled_at = serializers.DateTimeField()
    notes = serializers.CharField(required=False, allow_blank=True)


class HearingDecisionInputSerializer(serializers.Serializer):
    outcome = _choice([c for c in HearingOutcome.choices if c[0] != HearingOutcome.PENDING])
    decided_on = serializers.DateField()
    legal_status_after = _choice(
        LegalStatus.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="the legal status the decision leaves the prisoner in ("
        + _values(LegalStatus.choices)
        + "); empty: unchanged",
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class SentenceSerializer(serializers.Serializer):
    """A sentence of the legal file, with the day it ends (its release day) as computed."""

    uuid = serializers.UUIDField(source="sentence.uuid")
    number = serializers.IntegerField(
        allow_null=True, help_text="its number in the explanation (sentences in force)"
    )
    court = serializers.CharField(source="sentence.court")
    case_number = serializers.CharField(source="sentence.case_number")
    pronounced_on = serializers.DateField(source="sentence.pronounced_on")
    years = serializers.IntegerField(source="sentence.years")
    months = serializers.IntegerField(source="sentence.months")
    days = serializers.IntegerField(source="sentence.days")
    life = serializers.BooleanField(source="sentence.life")
    start_date = serializers.DateField(source="sentence.start_date", allow_null=True)
    consecutive_to = serializers.UUIDField(source="consecutive_to_uuid", allow_null=True)
    credited_days = serializers.IntegerField(source="sentence.credited_days")
    pardon_days = serializers.IntegerField()
    commuted_to_years = serializers.SerializerMethodField()
    ends_on = serializers.DateField(source="end", allow_null=True)
    status = serializers.CharField(source="sentence.status")
    hearing = serializers.UUIDField(source="hearing_uuid", allow_null=True)

    def get_commuted_to_years(self, row) -> int | None:
        return row.commuted.days if row.commuted else None


class SentenceInputSerializer(serializers.Serializer):
    court = serializers.CharField(max_length=200)
    case_number = serializers.CharField(max_length=100, required=False, allow_blank=True)
    pronounced_on = serializers.DateField()
    years = serializers.IntegerField(min_value=0, required=False, default=0)
    months = serializers.IntegerField(min_value=0, required=False, default=0)
    days = serializers.IntegerField(min_value=0, required=False, default=0)
    life = serializers.BooleanField(required=False, default=False)
    start_date = serializers.DateField(required=False, allow_null=True, default=None)
    consecutive_to = serializers.UUIDField(
        required=False, allow_null=True, default=None, help_text="UUID of a sentence in force"
    )
    credited_days = serializers.IntegerField(min_value=0, required=False, default=0)
    hearing = serializers.UUIDField(required=False, allow_null=True, default=None)


class SentenceQuashInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


_REASON_HELP = "required: what was wrong and where the right value comes from (kept in the audit)"


class HearingCorrectionInputSerializer(serializers.Serializer):
    """A correction of a hearing: the fields to change (any of them) and the reason."""

    kind = _choice(HearingKind.choices, required=False)
    court = serializers.CharField(max_length=200, required=False)
    case_number = serializers.CharField(max_length=100, required=False, allow_blank=True)
    scheduled_at = serializers.DateTimeField(required=False)
    outcome = _choice(
        [c for c in HearingOutcome.choices if c[0] != HearingOutcome.PENDING],
        required=False,
        help_text="decided hearings only: "
        + _values([c for c in HearingOutcome.choices if c[0] != HearingOutcome.PENDING]),
    )
    decided_on = serializers.DateField(required=False, help_text="decided hearings only")
    notes = serializers.CharField(required=False, allow_blank=True)
    reason = serializers.CharField(max_length=300, help_text=_REASON_HELP)


class SentenceCorrectionInputSerializer(serializers.Serializer):
    """A correction of a sentence in force: the fields to change (any of them) and the
    reason. ``consecutive_to`` and ``start_date`` exclude each other: set the one to null
    when setting the other."""

    court = serializers.CharField(max_length=200, required=False)
    case_number = serializers.CharField(max_length=100, required=False, allow_blank=True)
    pronounced_on = serializers.DateField(required=False)
    years = serializers.IntegerField(min_value=0, required=False)
    months = serializers.IntegerField(min_value=0, required=False)
    days = serializers.IntegerField(min_value=0, required=False)
    life = serializers.BooleanField(required=False)
    start_date = serializers.DateField(required=False, allow_null=True)
    consecutive_to = serializers.UUIDField(
        required=False, allow_null=True, help_text="UUID of a sentence in force; null: none"
    )
    credited_days = serializers.IntegerField(min_value=0, required=False)
    hearing = serializers.UUIDField(required=False, allow_null=True)
    reason = serializers.CharField(max_length=300, help_text=_REASON_HELP)


class StepSerializer(serializers.Serializer):
    on = serializers.DateField()
    text = serializers.CharField()
    sentence = serializers.SerializerMethodField(help_text="1-based number of the sentence")

    def get_sentence(self, step) -> int | None:
        return None if step.sentence is None else step.sentence + 1


class ReleaseDateSerializer(serializers.Serializer):
    expected_release = serializers.DateField(allow_null=True)
    life_sentence = serializers.BooleanField(source="life")
    basis = serializers.CharField(help_text="none, life, sentence, pardon or conditional_release")
    as_of = serializers.DateTimeField(
        allow_null=True, help_text="set when the custody period ended by transfer"
    )
    steps = StepSerializer(many=True)


class PardonDecreeSerializer(serializers.ModelSerializer):
    grants_seen = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="beneficiaries in the caller's institutions"
    )

    class Meta:
        model = PardonDecree
        fields = ["uuid", "reference", "occasion", "signed_on", "note", "grants_seen"]


class PardonDecreeInputSerializer(serializers.Serializer):
    reference = serializers.CharField(max_length=100)
    occasion = serializers.CharField(max_length=200)
    signed_on = serializers.DateField()
    note = serializers.CharField(required=False, allow_blank=True, default="")


class PardonGrantSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    committal_number = serializers.CharField(allow_null=True)
    custody = serializers.UUIDField(source="custody_uuid", allow_null=True)
    facility = serializers.CharField(source="facility.code")
    kind = serializers.CharField(help_text=_values(PardonKind.choices))
    days = serializers.IntegerField(help_text="days of reduction; years for a commutation")
    applied_at = serializers.DateTimeField()


class PardonDecreeDetailSerializer(PardonDecreeSerializer):
    grants = PardonGrantSerializer(many=True, read_only=True)

    class Meta(PardonDecreeSerializer.Meta):
        fields = [*PardonDecreeSerializer.Meta.fields, "grants"]


class PardonLineInputSerializer(serializers.Serializer):
    committal_number = serializers.CharField(max_length=60, required=False, allow_blank=True)
    custody = serializers.UUIDField(required=False, allow_null=True)
    kind = serializers.CharField(max_length=20, help_text="reduction, release or commutation")
    days = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="reduction: days; commutation: the term in years; release: none",
    )


class PardonApplyInputSerializer(serializers.Serializer):
    """Either ``beneficiaries`` (JSON lines) or ``lines`` (text, one
    ``committal_number;kind;days`` per line, as on the page)."""

    beneficiaries = PardonLineInputSerializer(many=True, required=False)
    lines = serializers.CharField(required=False, allow_blank=True)

    def validate(self, attrs):
        if not attrs.get("beneficiaries") and not (attrs.get("lines") or "").strip():
            raise serializers.ValidationError("give beneficiaries or lines")
        return attrs


class PardonLineErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    identifier = serializers.CharField()
    message = serializers.CharField()


class PardonApplyErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    errors = PardonLineErrorSerializer(many=True)


class PardonApplyResultSerializer(serializers.Serializer):
    applied = serializers.IntegerField()


class ConditionalReleaseSerializer(serializers.ModelSerializer):
    facility = serializers.CharField(source="facility.code", read_only=True)
    status = serializers.CharField(
        read_only=True, help_text=_values(ConditionalReleaseStatus.choices)
    )

    class Meta:
        model = ConditionalRelease
        fields = [
            "uuid",
            "decided_on",
            "authority",
            "decision_reference",
            "status",
            "release_on",
            "supervision_until",
            "conditions",
            "facility",
        ]


class ConditionalReleaseInputSerializer(serializers.Serializer):
    decided_on = serializers.DateField()
    authority = serializers.CharField(max_length=200)
    decision_reference = serializers.CharField(max_length=100)
    status = _choice(ConditionalReleaseStatus.choices)
    release_on = serializers.DateField(required=False, allow_null=True, default=None)
    supervision_until = serializers.DateField(required=False, allow_null=True, default=None)
    conditions = serializers.CharField(required=False, allow_blank=True, default="")


class ReleaseDueSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    committal_number = serializers.CharField()
    facility = serializers.CharField(source="facility.code")
    first_name_ar = serializers.CharField(source="person.first_name_ar")
    family_name_ar = serializers.CharField(source="person.family_name_ar")
    first_name_latin = serializers.CharField(source="person.first_name_latin")
    family_name_latin = serializers.CharField(source="person.family_name_latin")
    legal_status = serializers.CharField()
    expected_release = serializers.DateField(source="detention.expected_release")
    due_in = serializers.IntegerField(help_text="days from today; negative when overdue")
    overdue = serializers.BooleanField()
    basis = serializers.CharField(help_text="sentence, pardon or conditional_release")


class ReleasesDueQuerySerializer(serializers.Serializer):
    facility = serializers.CharField(required=False, allow_blank=True, max_length=20)
    days = serializers.IntegerField(required=False, default=30, min_value=0, max_value=366)
