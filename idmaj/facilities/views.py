# Placeholder pages; the facilities domain fills these in.
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse


@login_required
def facility_list(request):
    return HttpResponse("facilities")


@login_required
def capacity(request):
    return HttpResponse("capacity")


@login_required
def project_list(request):
    return HttpResponse("projects")


@login_required
def installation_list(request):
    return HttpResponse("installations")


@login_required
def facility_detail(request, code):
    raise Http404
