"""Registry API: legal — hearings and decisions, sentences, the expected release date with
its explanation, royal pardon decrees, conditional release, releases due.

Thin views over ``selectors.legal`` and ``services.legal``: a custody period (``{uuid}``),
a hearing or a sentence outside the caller's scope answers 404 like a missing one; a
refusal of a rule answers 400/409 with its ``code``; an action the caller may not do, 403.
"""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from idmaj.core.errors import DomainError, PermissionDenied
from idmaj.facilities.selectors import get_facility_for_user_or_404

from .. import selectors, services
from ..models import Hearing, PardonDecree, Sentence
from ..serializers.legal import (
    ConditionalReleaseInputSerializer,
    ConditionalReleaseSerializer,
    HearingCorrectionInputSerializer,
    HearingDecisionInputSerializer,
    HearingInputSerializer,
    HearingSerializer,
    PardonApplyErrorSerializer,
    PardonApplyInputSerializer,
    PardonApplyResultSerializer,
    PardonDecreeDetailSerializer,
    PardonDecreeInputSerializer,
    PardonDecreeSerializer,
    PardonGrantSerializer,
    ReleaseDateSerializer,
    ReleaseDueSerializer,
    ReleasesDueQuerySerializer,
    SentenceCorrectionInputSerializer,
    SentenceInputSerializer,
    SentenceQuashInputSerializer,
    SentenceSerializer,
)

TAGS = ["inmates"]


def _custody(request, uuid):
    return selectors.get_custody_for_user_or_404(user=request.user, uuid=uuid)


def _file(request, uuid):
    return selectors.legal_file(custody=_custody(request, uuid))


# -- hearings --------------------------------------------------------------------------------
@extend_schema(tags=TAGS)
class CustodyHearings(ListAPIView):
    """The court hearings of a prisoner (chronological); ``POST`` schedules one."""

    serializer_class = HearingSerializer
    queryset = Hearing.objects.none()

    def get_queryset(self):
        file = _file(self.request, self.kwargs["uuid"])
        return sorted(
            [*file.hearings_past, *file.hearings_upcoming], key=lambda h: (h.scheduled_at, h.pk)
        )

    @extend_schema(request=HearingInputSerializer, responses={201: HearingSerializer})
    def post(self, request, uuid):
        custody = _custody(request, uuid)
        ser = HearingInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        hearing = services.hearing_schedule(
            actor=request.user, custody=custody, **ser.validated_data
        )
        hearing = Hearing.objects.select_related("facility").get(pk=hearing.pk)
        return Response(HearingSerializer(hearing).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class HearingDecision(APIView):
    """Record the decision of a hearing (by the institution holding the prisoner now)."""

    @extend_schema(request=HearingDecisionInputSerializer, responses={200: HearingSerializer})
    def post(self, request, uuid):
        hearing = selectors.get_hearing_for_user_or_404(user=request.user, uuid=uuid)
        ser = HearingDecisionInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        hearing = services.hearing_decide(actor=request.user, hearing=hearing, **ser.validated_data)
        hearing = Hearing.objects.select_related("facility").get(pk=hearing.pk)
        return Response(HearingSerializer(hearing).data)


# -- sentences -------------------------------------------------------------------------------
def _sentence_arguments(detention_id: int, data: dict) -> dict:
    """Lookups only: the sentence it follows and the hearing, within the same detention."""
    kwargs = dict(data)
    for name, model in (("consecutive_to", Sentence), ("hearing", Hearing)):
        key = kwargs.get(name)
        if key is None:
            continue
        obj = model.objects.filter(uuid=key, detention_id=detention_id).first()
        if obj is None:
            raise DomainError(
                "invalid", _("No such record in this prisoner's legal file."), field=name
            )
        kwargs[name] = obj
    return kwargs


@extend_schema(tags=TAGS)
class CustodySentences(ListAPIView):
    """The sentences of a prisoner with the day each ends; ``POST`` records one (the expected
    release is recomputed)."""

    serializer_class = SentenceSerializer
    queryset = Sentence.objects.none()

    def get_queryset(self):
        return _file(self.request, self.kwargs["uuid"]).sentences

    @extend_schema(request=SentenceInputSerializer, responses={201: SentenceSerializer})
    def post(self, request, uuid):
        custody = _custody(request, uuid)
        ser = SentenceInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        sentence = services.sentence_record(
            actor=request.user,
            custody=custody,
            **_sentence_arguments(custody.detention_id, ser.validated_data),
        )
        row = next(
            r
            for r in selectors.legal_file(custody=_custody(request, uuid)).sentences
            if r.sentence.pk == sentence.pk
        )
        return Response(SentenceSerializer(row).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class SentenceQuash(APIView):
    """Quash (or mark as replaced) a sentence; the expected release is recomputed."""

    @extend_schema(request=SentenceQuashInputSerializer, responses={200: ReleaseDateSerializer})
    def post(self, request, uuid):
        sentence = selectors.get_sentence_for_user_or_404(user=request.user, uuid=uuid)
        ser = SentenceQuashInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        services.sentence_quash(
            actor=request.user, sentence=sentence, reason=ser.validated_data["reason"]
        )
        info = services.detention_release_explain(sentence.detention)
        return Response(_release_body(info, as_of=None))


# -- corrections -----------------------------------------------------------------------------
@extend_schema(tags=TAGS)
class HearingCorrection(APIView):
    """Correct a hearing recorded by mistake: the fields to change and the ``reason``
    (required); by the institution holding the prisoner now. Answers the hearing."""

    @extend_schema(request=HearingCorrectionInputSerializer, responses={200: HearingSerializer})
    def patch(self, request, uuid):
        hearing = selectors.get_hearing_for_user_or_404(user=request.user, uuid=uuid)
        ser = HearingCorrectionInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        hearing = services.hearing_correct(
            actor=request.user, hearing=hearing, **ser.validated_data
        )
        hearing = Hearing.objects.select_related("facility").get(pk=hearing.pk)
        return Response(HearingSerializer(hearing).data)


@extend_schema(tags=TAGS)
class SentenceCorrection(APIView):
    """Correct a sentence in force recorded by mistake: the fields to change and the
    ``reason`` (required); the expected release is recomputed. Answers the sentence with
    the day it now ends."""

    @extend_schema(request=SentenceCorrectionInputSerializer, responses={200: SentenceSerializer})
    def patch(self, request, uuid):
        sentence = selectors.get_sentence_for_user_or_404(user=request.user, uuid=uuid)
        ser = SentenceCorrectionInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        services.sentence_correct(
            actor=request.user,
            sentence=sentence,
            **_sentence_arguments(sentence.detention_id, ser.validated_data),
        )
        custody = selectors.current_custody_for_user(
            user=request.user, detention_id=sentence.detention_id
        )
        assert custody is not None  # the correction was allowed through it
        row = next(
            r
            for r in selectors.legal_file(custody=custody).sentences
            if r.sentence.pk == sentence.pk
        )
        return Response(SentenceSerializer(row).data)


# -- expected release ------------------------------------------------------------------------
def _release_body(info, *, as_of) -> dict:
    return ReleaseDateSerializer(
        {
            "expected_release": info.expected_release,
            "life": info.life,
            "basis": info.basis,
            "as_of": as_of,
            "steps": info.steps,
        }
    ).data


@extend_schema(tags=TAGS)
class CustodyReleaseDate(APIView):
    """The expected release date with its explanation line by line (in the language of
    ``Accept-Language``)."""

    @extend_schema(responses={200: ReleaseDateSerializer})
    def get(self, request, uuid):
        file = _file(request, uuid)
        return Response(_release_body(file.release, as_of=file.as_of))


# -- conditional release ---------------------------------------------------------------------
@extend_schema(tags=TAGS)
class CustodyConditionalReleases(ListAPIView):
    """Conditional release decisions (newest first); ``POST`` records one."""

    serializer_class = ConditionalReleaseSerializer
    queryset = Sentence.objects.none()

    def get_queryset(self):
        return _file(self.request, self.kwargs["uuid"]).conditional_releases

    @extend_schema(
        request=ConditionalReleaseInputSerializer, responses={201: ConditionalReleaseSerializer}
    )
    def post(self, request, uuid):
        custody = _custody(request, uuid)
        ser = ConditionalReleaseInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        decision = services.conditional_release_decide(
            actor=request.user, custody=custody, **ser.validated_data
        )
        decision.facility = custody.facility
        return Response(ConditionalReleaseSerializer(decision).data, status=status.HTTP_201_CREATED)


# -- royal pardon ----------------------------------------------------------------------------
@extend_schema(tags=TAGS)
class PardonDecreeListCreate(ListAPIView):
    """Royal pardon decrees (national records), newest first, with how many of their
    beneficiaries are in the caller's institutions; ``POST`` records a decree."""

    serializer_class = PardonDecreeSerializer
    queryset = PardonDecree.objects.none()

    def get_queryset(self):
        if not selectors.can_see_pardons(self.request.user):
            raise PermissionDenied("forbidden", _("You are not allowed to do this here."))
        return selectors.pardon_decree_list(fetched_by=self.request.user)

    @extend_schema(request=PardonDecreeInputSerializer, responses={201: PardonDecreeSerializer})
    def post(self, request):
        ser = PardonDecreeInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        decree = services.pardon_decree_create(actor=request.user, **ser.validated_data)
        return Response(PardonDecreeSerializer(decree).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class PardonDecreeDetail(APIView):
    """One decree with its grants in the caller's institutions."""

    @extend_schema(responses={200: PardonDecreeDetailSerializer})
    def get(self, request, uuid):
        decree = selectors.get_pardon_decree_for_user_or_404(user=request.user, uuid=uuid)
        grants = list(selectors.pardon_grant_list(fetched_by=request.user, decree=decree))
        decree.grants_seen = len(grants)
        body = PardonDecreeSerializer(decree).data
        body["grants"] = PardonGrantSerializer(grants, many=True).data
        return Response(body)


@extend_schema(tags=TAGS)
class PardonDecreeApply(APIView):
    """Apply a decree to its beneficiaries, all or nothing: 400 ``invalid_lines`` lists every
    refused line (number, identifier, reason) and nothing is applied."""

    @extend_schema(
        request=PardonApplyInputSerializer,
        responses={
            201: PardonApplyResultSerializer,
            400: OpenApiResponse(PardonApplyErrorSerializer, description="invalid_lines"),
        },
    )
    def post(self, request, uuid):
        decree = selectors.get_pardon_decree_for_user_or_404(user=request.user, uuid=uuid)
        ser = PardonApplyInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        if data.get("beneficiaries"):
            lines = [
                services.PardonLine(
                    line=i,
                    identifier=str(b.get("custody") or b.get("committal_number") or ""),
                    kind=b["kind"].strip().lower(),
                    days=b.get("days"),
                )
                for i, b in enumerate(data["beneficiaries"], start=1)
            ]
        else:
            lines = services.pardon_lines_parse(data["lines"])
        try:
            grants = services.pardon_decree_apply(
                actor=request.user, decree=decree, beneficiaries=lines
            )
        except services.PardonApplicationError as err:
            body = {
                "code": err.code,
                "detail": str(err.message),
                "errors": [
                    {"line": e.line, "identifier": e.identifier, "message": str(e.message)}
                    for e in err.errors
                ],
            }
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response({"applied": len(grants)}, status=status.HTTP_201_CREATED)


# -- releases due ----------------------------------------------------------------------------
@extend_schema(tags=TAGS)
class ReleasesDue(ListAPIView):
    """Prisoners in custody due for release in the next ``days`` days (30 by default), the
    overdue first, by date; ``facility`` (code) narrows to one institution (404 when out of
    the caller's scope)."""

    serializer_class = ReleaseDueSerializer
    queryset = Sentence.objects.none()

    def get_queryset(self):
        query = ReleasesDueQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        code = (query.validated_data.get("facility") or "").strip()
        facility = get_facility_for_user_or_404(user=self.request.user, code=code) if code else None
        return selectors.releases_due(
            fetched_by=self.request.user, facility=facility, days=query.validated_data["days"]
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("facility", str, description="institution code"),
            OpenApiParameter("days", int, description="next N days (0 to 366, default 30)"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


urlpatterns = [
    path("<uuid:uuid>/hearings/", CustodyHearings.as_view(), name="api-inmate-hearings"),
    path(
        "hearings/<uuid:uuid>/decision/",
        HearingDecision.as_view(),
        name="api-hearing-decision",
    ),
    path("<uuid:uuid>/sentences/", CustodySentences.as_view(), name="api-inmate-sentences"),
    path("hearings/<uuid:uuid>/", HearingCorrection.as_view(), name="api-hearing-correct"),
    path("sentences/<uuid:uuid>/", SentenceCorrection.as_view(), name="api-sentence-correct"),
    path("sentences/<uuid:uuid>/quash/", SentenceQuash.as_view(), name="api-sentence-quash"),
    path("<uuid:uuid>/release-date/", CustodyReleaseDate.as_view(), name="api-inmate-release-date"),
    path(
        "<uuid:uuid>/conditional-releases/",
        CustodyConditionalReleases.as_view(),
        name="api-inmate-conditional-releases",
    ),
    path("pardon-decrees/", PardonDecreeListCreate.as_view(), name="api-pardon-decrees"),
    path(
        "pardon-decrees/<uuid:uuid>/",
        PardonDecreeDetail.as_view(),
        name="api-pardon-decree-detail",
    ),
    path(
        "pardon-decrees/<uuid:uuid>/apply/",
        PardonDecreeApply.as_view(),
        name="api-pardon-decree-apply",
    ),
    path("releases-due/", ReleasesDue.as_view(), name="api-releases-due"),
]
