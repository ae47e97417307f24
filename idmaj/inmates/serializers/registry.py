"""JSON shapes of the inmate registry API (thin: no business rule here)."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from ..constants import LegalStatus, PersonSex
from ..models import CustodyPeriod, Offence, Person
from ..selectors import may_see_admission_findings


class PersonSerializer(serializers.ModelSerializer):
    class Meta:
        model = Person
        fields = [
            "uuid",
            "first_name_ar",
            "family_name_ar",
            "father_name_ar",
            "mother_name_ar",
            "first_name_latin",
            "family_name_latin",
            "father_name_latin",
            "mother_name_latin",
            "birth_date",
            "birth_place",
            "sex",
            "nationality",
            "cin",
        ]


class CandidateSerializer(serializers.Serializer):
    """A person on file who may be the one being admitted (identity fields only)."""

    uuid = serializers.UUIDField(source="person.uuid")
    first_name_ar = serializers.CharField(source="person.first_name_ar")
    family_name_ar = serializers.CharField(source="person.family_name_ar")
    first_name_latin = serializers.CharField(source="person.first_name_latin")
    family_name_latin = serializers.CharField(source="person.family_name_latin")
    birth_date = serializers.DateField(source="person.birth_date", allow_null=True)
    cin = serializers.CharField(source="person.cin")
    reasons = serializers.ListField(child=serializers.CharField())


class DuplicateResponseSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    candidates = CandidateSerializer(many=True)


class OffenceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Offence
        fields = ["code", "name_ar", "name_fr"]


class CustodyListSerializer(serializers.ModelSerializer):
    """One custody period in a list or a search result."""

    person = PersonSerializer(read_only=True)
    facility = serializers.CharField(source="facility.code", read_only=True)
    # A plain string in the schema: an enum here would collide with the facilities' "status".
    status = serializers.CharField(
        read_only=True, help_text="in_custody, released or transferred_out"
    )

    class Meta:
        model = CustodyPeriod
        fields = [
            "uuid",
            "committal_number",
            "facility",
            "status",
            "legal_status",
            "committed_at",
            "released_at",
            "person",
        ]


class CustodyDetailSerializer(CustodyListSerializer):
    """One custody period. ``injuries_observed`` and ``ill_treatment_complaint`` (Mandela
    rule 7) are given to users holding ``inmates.admit``, ``inmates.edit`` or
    ``inmates.alerts`` at the institution, null for others (pass the request in the
    context)."""

    offences = OffenceSerializer(many=True, read_only=True)
    injuries_observed = serializers.SerializerMethodField(
        help_text="visible injuries seen at admission; null when not yours to read"
    )
    ill_treatment_complaint = serializers.SerializerMethodField(
        help_text="complaint of prior ill-treatment at admission; null when not yours to read"
    )
    photo_url = serializers.SerializerMethodField(help_text="the person's photo (scoped)")

    class Meta(CustodyListSerializer.Meta):
        fields = [
            *CustodyListSerializer.Meta.fields,
            "committing_authority",
            "court",
            "warrant_reference",
            "case_number",
            "escort",
            "offences",
            "injuries_observed",
            "ill_treatment_complaint",
            "photo_url",
        ]

    def _findings(self, obj) -> bool:
        request = self.context.get("request")
        if request is None:
            return False
        return may_see_admission_findings(request.user, obj)

    def get_injuries_observed(self, obj) -> str | None:
        return obj.injuries_observed if self._findings(obj) else None

    def get_ill_treatment_complaint(self, obj) -> str | None:
        return obj.ill_treatment_complaint if self._findings(obj) else None

    def get_photo_url(self, obj) -> str | None:
        if not obj.person.photo:
            return None
        url = reverse("api-inmate-photo", args=[obj.uuid])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=100)


class PersonInputSerializer(serializers.Serializer):
    sex = serializers.ChoiceField(choices=PersonSex.choices)
    first_name_ar = serializers.CharField(required=False, allow_blank=True, max_length=100)
    family_name_ar = serializers.CharField(required=False, allow_blank=True, max_length=100)
    father_name_ar = serializers.CharField(required=False, allow_blank=True, max_length=100)
    mother_name_ar = serializers.CharField(required=False, allow_blank=True, max_length=200)
    first_name_latin = serializers.CharField(required=False, allow_blank=True, max_length=100)
    family_name_latin = serializers.CharField(required=False, allow_blank=True, max_length=100)
    father_name_latin = serializers.CharField(required=False, allow_blank=True, max_length=100)
    mother_name_latin = serializers.CharField(required=False, allow_blank=True, max_length=200)
    birth_date = serializers.DateField(required=False, allow_null=True)
    birth_place = serializers.CharField(required=False, allow_blank=True, max_length=150)
    nationality = serializers.CharField(required=False, default="MA", max_length=2)
    cin = serializers.CharField(required=False, allow_blank=True, max_length=20)
    distinguishing_marks = serializers.CharField(required=False, allow_blank=True)
    languages = serializers.CharField(required=False, allow_blank=True, max_length=200)


class CommittalInputSerializer(serializers.Serializer):
    committed_at = serializers.DateTimeField()
    committing_authority = serializers.CharField(max_length=200)
    warrant_reference = serializers.CharField(max_length=100)
    legal_status = serializers.ChoiceField(choices=LegalStatus.choices)
    court = serializers.CharField(required=False, allow_blank=True, max_length=200)
    case_number = serializers.CharField(required=False, allow_blank=True, max_length=100)
    escort = serializers.CharField(required=False, allow_blank=True, max_length=200)
    offence_codes = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, default=list
    )
    # Mandela rule 7: either one alerts the director.
    injuries_observed = serializers.CharField(required=False, allow_blank=True, default="")
    ill_treatment_complaint = serializers.CharField(required=False, allow_blank=True, default="")


class AdmissionSerializer(serializers.Serializer):
    """An admission: the institution, the committal, and either a new person (``person``,
    with ``confirm_new_person`` after a 409) or a person on file (``existing_person``)."""

    facility = serializers.CharField(max_length=20, help_text="institution code")
    committal = CommittalInputSerializer()
    person = PersonInputSerializer(required=False)
    existing_person = serializers.UUIDField(required=False)
    confirm_new_person = serializers.BooleanField(required=False, default=False)
