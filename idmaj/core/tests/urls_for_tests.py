"""The project's URLs plus a few tiny API views, for tests of the API plumbing."""

from django.http import Http404
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from idmaj.core.errors import ConflictError, DomainError
from idmaj.urls import urlpatterns as project_urlpatterns


class WhoAmI(APIView):
    def get(self, request):
        return Response({"username": request.user.get_username()})


class Fails(APIView):
    def get(self, request, kind):
        if kind == "domain":
            raise DomainError("bad_value", "The value is wrong.", field="beds")
        if kind == "conflict":
            raise ConflictError("full", "No place left.")
        if kind == "domain-nofield":
            raise DomainError("bad_state", "Not now.")
        raise Http404


urlpatterns = [
    path("api/v1/test/whoami/", WhoAmI.as_view()),
    path("api/v1/test/fail/<str:kind>/", Fails.as_view()),
    *project_urlpatterns,
]
