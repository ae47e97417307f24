"""Staff API of visit configuration: ``/api/v1/visits/facilities/<code>/...`` (rules, rooms,
weekly sessions, days without visits, pauses of online booking, dated sessions, generation)
and ``/api/v1/visits/<kind>/<uuid>/...`` for one object. Thin views over
``services.sessions`` and ``selectors.sessions``: reading needs ``visits.view`` at the
institution (404 otherwise, alike for missing), changing ``visits.configure`` (403).
Refusals answer 400/409 with a ``code``."""

from __future__ import annotations

import datetime as dt

from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from idmaj.core.errors import DomainError
from idmaj.facilities.models import Wing

from .. import selectors
from ..models import SessionTemplate, VisitRoom
from ..serializers.sessions import (
    ExcludedDateSerializer,
    ExcludedRemovedSerializer,
    GeneratedSerializer,
    GenerateSerializer,
    PauseEndedSerializer,
    PauseSerializer,
    PolicyPatchSerializer,
    PolicySerializer,
    RoomInputSerializer,
    RoomPatchSerializer,
    RoomSerializer,
    SessionCancelSerializer,
    SessionCapacitySerializer,
    SessionQuerySerializer,
    SessionSerializer,
    TemplateEndedSerializer,
    TemplateEndSerializer,
    TemplateInputSerializer,
    TemplatePatchSerializer,
    TemplateSerializer,
)
from ..services import sessions as services

TAGS = ["visits"]


def _facility(request, code):
    return selectors.get_visit_facility_for_user_or_404(user=request.user, code=code)


def _room(facility_id: int, uuid) -> VisitRoom:
    room = VisitRoom.objects.filter(facility_id=facility_id, uuid=uuid).first()
    if room is None:
        raise DomainError("invalid", _("No room of this institution."), field="room")
    return room


def _wings(facility_id: int, uuids) -> list[Wing]:
    uuids = set(uuids)
    wings = list(Wing.objects.filter(facility_id=facility_id, uuid__in=uuids))
    if len(wings) != len(uuids):
        raise DomainError("invalid", _("No wing of this institution."), field="wings")
    return wings


def _template_fields(facility_id: int, data: dict) -> dict:
    data = dict(data)
    if "room" in data:
        data["room"] = _room(facility_id, data["room"])
    if "wings" in data:
        data["wings"] = _wings(facility_id, data["wings"])
    return data


def _template_out(template) -> dict:
    return TemplateSerializer(
        SessionTemplate.objects.select_related("room").prefetch_related("wings").get(pk=template.pk)
    ).data


# -- rules -----------------------------------------------------------------------------------
@extend_schema(tags=TAGS)
class PolicyView(APIView):
    """An institution's booking rules. ``PATCH`` changes those given; switching
    ``online_booking`` is written to the installations register. Codes: ``invalid_window``,
    ``invalid``, ``unknown_field``."""

    @extend_schema(operation_id="visits_policy_retrieve", responses=PolicySerializer)
    def get(self, request, code):
        facility = _facility(request, code)
        policy = services.policy_for(facility)
        return Response(PolicySerializer(policy).data)

    @extend_schema(
        operation_id="visits_policy_update",
        request=PolicyPatchSerializer,
        responses=PolicySerializer,
    )
    def patch(self, request, code):
        facility = _facility(request, code)
        ser = PolicyPatchSerializer(data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        policy = services.policy_update(actor=request.user, facility=facility, **ser.validated_data)
        return Response(PolicySerializer(policy).data)


# -- rooms -----------------------------------------------------------------------------------
@extend_schema(tags=TAGS)
class RoomList(APIView):
    """The institution's visit rooms; ``POST`` adds one."""

    @extend_schema(operation_id="visits_rooms_list", responses=RoomSerializer(many=True))
    def get(self, request, code):
        facility = _facility(request, code)
        rooms = VisitRoom.objects.filter(facility_id=facility.pk).order_by("name")
        return Response(RoomSerializer(rooms, many=True).data)

    @extend_schema(
        operation_id="visits_rooms_create",
        request=RoomInputSerializer,
        responses={201: RoomSerializer},
    )
    def post(self, request, code):
        facility = _facility(request, code)
        ser = RoomInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        room = services.room_create(actor=request.user, facility=facility, **ser.validated_data)
        return Response(RoomSerializer(room).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class RoomDetail(APIView):
    """One visit room; ``PATCH`` changes it (``room_too_small`` when a weekly session in
    use there takes more)."""

    @extend_schema(operation_id="visits_room_retrieve", responses=RoomSerializer)
    def get(self, request, uuid):
        room = selectors.get_room_for_user_or_404(user=request.user, uuid=uuid)
        return Response(RoomSerializer(room).data)

    @extend_schema(
        operation_id="visits_room_update", request=RoomPatchSerializer, responses=RoomSerializer
    )
    def patch(self, request, uuid):
        room = selectors.get_room_for_user_or_404(user=request.user, uuid=uuid)
        ser = RoomPatchSerializer(data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        room = services.room_update(actor=request.user, room=room, **ser.validated_data)
        return Response(RoomSerializer(room).data)


# -- weekly sessions -------------------------------------------------------------------------
@extend_schema(tags=TAGS)
class TemplateList(APIView):
    """The weekly sessions in use or to come; ``POST`` adds one (codes
    ``over_room_capacity``, ``wrong_mode``, ``room_out_of_service``, ``overlap``)."""

    @extend_schema(operation_id="visits_templates_list", responses=TemplateSerializer(many=True))
    def get(self, request, code):
        facility = _facility(request, code)
        templates = selectors.template_list(facility=facility)
        return Response(TemplateSerializer(templates, many=True).data)

    @extend_schema(
        operation_id="visits_templates_create",
        request=TemplateInputSerializer,
        responses={201: TemplateSerializer},
    )
    def post(self, request, code):
        facility = _facility(request, code)
        ser = TemplateInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        template = services.template_create(
            actor=request.user,
            facility=facility,
            **_template_fields(facility.pk, ser.validated_data),
        )
        return Response(_template_out(template), status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class TemplateDetail(APIView):
    """One weekly session; ``PATCH`` changes it (dated sessions already made keep theirs)."""

    @extend_schema(operation_id="visits_template_retrieve", responses=TemplateSerializer)
    def get(self, request, uuid):
        template = selectors.get_template_for_user_or_404(user=request.user, uuid=uuid)
        return Response(TemplateSerializer(template).data)

    @extend_schema(
        operation_id="visits_template_update",
        request=TemplatePatchSerializer,
        responses=TemplateSerializer,
    )
    def patch(self, request, uuid):
        template = selectors.get_template_for_user_or_404(user=request.user, uuid=uuid)
        ser = TemplatePatchSerializer(data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        template = services.template_update(
            actor=request.user,
            template=template,
            **_template_fields(template.facility_id, ser.validated_data),
        )
        return Response(_template_out(template))


@extend_schema(tags=TAGS)
class TemplateEnd(APIView):
    """End a weekly session after a day: sessions made after it and never booked are
    removed, those with bookings kept (``kept_sessions``)."""

    @extend_schema(
        operation_id="visits_template_end",
        request=TemplateEndSerializer,
        responses=TemplateEndedSerializer,
    )
    def post(self, request, uuid):
        template = selectors.get_template_for_user_or_404(user=request.user, uuid=uuid)
        ser = TemplateEndSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        ended = services.template_end(
            actor=request.user, template=template, valid_until=ser.validated_data.get("valid_until")
        )
        out = (
            SessionTemplate.objects.select_related("room")
            .prefetch_related("wings")
            .get(pk=ended.pk)
        )
        out.kept_sessions = ended.kept_sessions
        return Response(TemplateEndedSerializer(out).data)


# -- days without visits -------------------------------------------------------------------------
@extend_schema(tags=TAGS)
class ExcludedList(APIView):
    """Days without visits still to come; ``POST`` adds some: their sessions are cancelled,
    with their bookings (families told)."""

    @extend_schema(
        operation_id="visits_excluded_dates_list", responses=ExcludedDateSerializer(many=True)
    )
    def get(self, request, code):
        facility = _facility(request, code)
        excluded = selectors.excluded_date_list(facility=facility)
        return Response(ExcludedDateSerializer(excluded, many=True).data)

    @extend_schema(
        operation_id="visits_excluded_dates_create",
        request=ExcludedDateSerializer,
        responses={201: ExcludedDateSerializer},
    )
    def post(self, request, code):
        facility = _facility(request, code)
        ser = ExcludedDateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        excluded = services.excluded_date_add(
            actor=request.user, facility=facility, **ser.validated_data
        )
        return Response(ExcludedDateSerializer(excluded).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class ExcludedDetail(APIView):
    """Remove a day without visits: its sessions to come with no booking left open again."""

    @extend_schema(operation_id="visits_excluded_date_remove", responses=ExcludedRemovedSerializer)
    def delete(self, request, uuid):
        excluded = selectors.get_excluded_date_for_user_or_404(user=request.user, uuid=uuid)
        reopened = services.excluded_date_remove(actor=request.user, excluded=excluded)
        return Response({"sessions_reopened": reopened})


# -- pauses --------------------------------------------------------------------------------------
@extend_schema(tags=TAGS)
class PauseList(APIView):
    """Pauses of online booking in force or to come; ``POST`` starts one (``overlap``)."""

    @extend_schema(operation_id="visits_pauses_list", responses=PauseSerializer(many=True))
    def get(self, request, code):
        facility = _facility(request, code)
        pauses = selectors.pause_list(facility=facility)
        return Response(PauseSerializer(pauses, many=True).data)

    @extend_schema(
        operation_id="visits_pauses_create",
        request=PauseSerializer,
        responses={201: PauseSerializer},
    )
    def post(self, request, code):
        facility = _facility(request, code)
        ser = PauseSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        pause = services.online_pause_start(
            actor=request.user, facility=facility, **ser.validated_data
        )
        return Response(PauseSerializer(pause).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class PauseEnd(APIView):
    """End a pause now (one not yet begun is withdrawn)."""

    @extend_schema(operation_id="visits_pause_end", request=None, responses=PauseEndedSerializer)
    def post(self, request, uuid):
        pause = selectors.get_pause_for_user_or_404(user=request.user, uuid=uuid)
        ended = services.online_pause_end(actor=request.user, pause=pause)
        return Response(
            {
                "uuid": str(pause.uuid),
                "ended": ended is not None,
                "ends_at": ended.ends_at if ended else None,
            }
        )


# -- dated sessions ------------------------------------------------------------------------------
@extend_schema(tags=TAGS)
class SessionList(APIView):
    """The dated sessions of a period (cancelled ones too), with booked and capacity."""

    @extend_schema(
        operation_id="visits_sessions_list",
        parameters=[
            OpenApiParameter("date_from", dt.date, description="default: today"),
            OpenApiParameter(
                "date_to", dt.date, description="default: 13 days later; at most two months"
            ),
        ],
        responses=SessionSerializer(many=True),
    )
    def get(self, request, code):
        facility = _facility(request, code)
        query = SessionQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        date_from = query.validated_data.get("date_from") or timezone.localdate()
        date_to = query.validated_data.get("date_to") or date_from + dt.timedelta(days=13)
        sessions = selectors.session_list(
            fetched_by=request.user, facility=facility, date_from=date_from, date_to=date_to
        )
        return Response(SessionSerializer(sessions, many=True).data)


@extend_schema(tags=TAGS)
class SessionDetail(APIView):
    @extend_schema(operation_id="visits_session_retrieve", responses=SessionSerializer)
    def get(self, request, uuid):
        session = selectors.get_session_for_user_or_404(user=request.user, uuid=uuid)
        return Response(SessionSerializer(session).data)


@extend_schema(tags=TAGS)
class SessionCancel(APIView):
    """Cancel a session: its bookings are cancelled (``session_cancelled``) and the
    families told. Codes ``already_cancelled``, ``session_past``, ``visits_under_way``."""

    @extend_schema(
        operation_id="visits_session_cancel",
        request=SessionCancelSerializer,
        responses=SessionSerializer,
    )
    def post(self, request, uuid):
        session = selectors.get_session_for_user_or_404(user=request.user, uuid=uuid)
        ser = SessionCancelSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        services.session_cancel(
            actor=request.user, session=session, reason=ser.validated_data["reason"]
        )
        session = selectors.get_session_for_user_or_404(user=request.user, uuid=uuid)
        return Response(SessionSerializer(session).data)


@extend_schema(tags=TAGS)
class SessionCapacity(APIView):
    """Change a session's capacity: never below what is booked (``below_booked``) nor above
    the room (``over_room_capacity``)."""

    @extend_schema(
        operation_id="visits_session_capacity",
        request=SessionCapacitySerializer,
        responses=SessionSerializer,
    )
    def post(self, request, uuid):
        session = selectors.get_session_for_user_or_404(user=request.user, uuid=uuid)
        ser = SessionCapacitySerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        services.session_capacity_update(actor=request.user, session=session, **ser.validated_data)
        session = selectors.get_session_for_user_or_404(user=request.user, uuid=uuid)
        return Response(SessionSerializer(session).data)


@extend_schema(tags=TAGS)
class Generate(APIView):
    """Make the dated sessions now, up to ``days`` ahead (default: the booking window);
    idempotent."""

    @extend_schema(
        operation_id="visits_sessions_generate",
        request=GenerateSerializer,
        responses=GeneratedSerializer,
    )
    def post(self, request, code):
        facility = _facility(request, code)
        ser = GenerateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        days = ser.validated_data.get("days")
        today = timezone.localdate()
        until = today + dt.timedelta(days=days or services.policy_for(facility).book_from_days)
        created = services.sessions_generate(
            facility=facility, until=until, today=today, actor=request.user
        )
        return Response({"created": created, "until": until})


_F = "facilities/<str:code>/"
urlpatterns = [
    path(f"{_F}policy/", PolicyView.as_view(), name="api-visits-policy"),
    path(f"{_F}rooms/", RoomList.as_view(), name="api-visits-rooms"),
    path(f"{_F}templates/", TemplateList.as_view(), name="api-visits-templates"),
    path(f"{_F}excluded-dates/", ExcludedList.as_view(), name="api-visits-excluded-dates"),
    path(f"{_F}pauses/", PauseList.as_view(), name="api-visits-pauses"),
    path(f"{_F}sessions/", SessionList.as_view(), name="api-visits-sessions"),
    path(f"{_F}generate/", Generate.as_view(), name="api-visits-generate"),
    path("rooms/<uuid:uuid>/", RoomDetail.as_view(), name="api-visits-room"),
    path("templates/<uuid:uuid>/", TemplateDetail.as_view(), name="api-visits-template"),
    path("templates/<uuid:uuid>/end/", TemplateEnd.as_view(), name="api-visits-template-end"),
    path("excluded-dates/<uuid:uuid>/", ExcludedDetail.as_view(), name="api-visits-excluded-date"),
    path("pauses/<uuid:uuid>/end/", PauseEnd.as_view(), name="api-visits-pause-end"),
    path("sessions/<uuid:uuid>/", SessionDetail.as_view(), name="api-visits-session"),
    path("sessions/<uuid:uuid>/cancel/", SessionCancel.as_view(), name="api-visits-session-cancel"),
    path(
        "sessions/<uuid:uuid>/capacity/",
        SessionCapacity.as_view(),
        name="api-visits-session-capacity",
    ),
]
