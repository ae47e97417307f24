"""Staff pages of the visitor lists: the queue, a request, the document, the list of a
prisoner, a visitor and its restrictions, the section of the custody record page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from idmaj.core.models import AuditEntry, Notification
from idmaj.visits import services
from idmaj.visits.constants import RequestStatus, RestrictionKind
from idmaj.visits.models import Visitor, VisitorRequest, VisitorRestriction

from .lists_fixtures import (  # noqa: F401
    PDF,
    _lists_media,
    new_family,
    pdf_upload,
    prisoner,
    viewer,
    years_ago,
)


def _request(vs, **kw):
    custody = prisoner(vs.facility)
    return services.visitor_request_create(
        account=new_family(),
        committal_number=custody.committal_number,
        prisoner_name="Youssef Idrissi",
        relationship="spouse",
        document_kind="marriage_certificate",
        document=pdf_upload(),
        children=[("Amine", years_ago(6))],
        **kw,
    )


def _state():
    return (
        list(VisitorRequest.objects.values_list("status", flat=True).order_by("pk")),
        list(Visitor.objects.values_list("status", flat=True).order_by("pk")),
        VisitorRestriction.objects.count(),
        AuditEntry.objects.exclude(action="read").count(),
        Notification.objects.count(),
    )


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_queue_and_detail(client, vs, lang, django_assert_max_num_queries):
    reqs = [_request(vs) for _ in range(3)]
    client.force_login(vs.officer)
    with django_assert_max_num_queries(12):
        r = client.get(reverse("visits:requests"), HTTP_ACCEPT_LANGUAGE=lang)
    assert r.status_code == 200
    body = r.content.decode()
    for req in reqs:
        assert reverse("visits:request_detail", args=[req.uuid]) in body
    with translation.override(lang):
        assert gettext("Visitor list requests") in body
    r = client.get(reverse("visits:request_detail", args=[reqs[0].uuid]), HTTP_ACCEPT_LANGUAGE=lang)
    body = r.content.decode()
    assert r.status_code == 200
    assert reverse("visits:request_document", args=[reqs[0].uuid]) in body
    assert "Amine" in body
    assert reverse("visits:request_approve", args=[reqs[0].uuid]) in body


def test_queue_query_count_does_not_grow(client, vs, django_assert_max_num_queries):
    for _ in range(8):
        _request(vs)
    client.force_login(vs.officer)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("visits:requests")).status_code == 200


def test_other_institution_sees_nothing(client, vs):
    req = _request(vs)
    client.force_login(vs.other_officer)
    r = client.get(reverse("visits:requests") + "?status=all")
    assert r.status_code == 200 and str(req.uuid) not in r.content.decode()
    before = _state()
    for name, method in (
        ("visits:request_detail", "get"),
        ("visits:request_document", "get"),
        ("visits:request_approve", "post"),
        ("visits:request_refuse", "post"),
    ):
        url = reverse(name, args=[req.uuid])
        resp = getattr(client, method)(url, {"reason": "x"} if method == "post" else None)
        assert resp.status_code == 404, name
    for name in ("visits:visitor_remove", "visits:visitor_restriction_add"):
        resp = client.post(
            reverse(name, args=[vs.adult.uuid]),
            {"reason": "x", "kind": "banned", "starts_on": "2026-01-01"},
        )
        assert resp.status_code == 404
    assert client.get(reverse("visits:visitor_list", args=[vs.custody.uuid])).status_code == 404
    assert client.get(reverse("visits:visitor", args=[vs.adult.uuid])).status_code == 404
    assert _state() == before


def test_viewer_reads_but_cannot_decide(client, vs):
    """A holder of visits.view without visits.manage sees the request, not the forms."""
    req = _request(vs)
    client.force_login(viewer(vs.facility))
    r = client.get(reverse("visits:request_detail", args=[req.uuid]))
    assert r.status_code == 200
    assert reverse("visits:request_approve", args=[req.uuid]) not in r.content.decode()
    before = _state()
    assert client.post(reverse("visits:request_approve", args=[req.uuid])).status_code == 403
    assert _state() == before


def test_approve_and_refuse_pages(client, vs):
    a, b = _request(vs), _request(vs)
    client.force_login(vs.officer)
    r = client.post(reverse("visits:request_approve", args=[a.uuid]))
    assert r.status_code == 302
    a.refresh_from_db()
    assert a.status == RequestStatus.APPROVED
    r = client.post(reverse("visits:request_refuse", args=[b.uuid]), {"reason": ""})
    b.refresh_from_db()
    assert b.status == RequestStatus.PENDING
    client.post(reverse("visits:request_refuse", args=[b.uuid]), {"reason": "Document illisible"})
    b.refresh_from_db()
    assert b.status == RequestStatus.REFUSED and b.refusal_reason == "Document illisible"


def test_document_download(client, vs):
    req = _request(vs)
    client.force_login(vs.officer)
    reads = AuditEntry.objects.filter(action="read").count()
    r = client.get(reverse("visits:request_document", args=[req.uuid]))
    assert r.status_code == 200
    assert r["Content-Type"] == "application/pdf"
    assert r["Content-Disposition"].startswith("attachment")
    assert r["X-Content-Type-Options"] == "nosniff"
    assert b"".join(r.streaming_content) == PDF
    assert AuditEntry.objects.filter(action="read").count() == reads + 1


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_visitor_list_and_restrictions(client, vs, lang, django_assert_max_num_queries):
    today = timezone.localdate()
    services.restriction_add(
        actor=vs.officer,
        visitor=vs.adult,
        kind=RestrictionKind.BANNED,
        reason="Ancienne",
        starts_on=today - dt.timedelta(days=20),
        ends_on=today - dt.timedelta(days=10),
    )
    client.force_login(vs.officer)
    with django_assert_max_num_queries(14):
        r = client.get(
            reverse("visits:visitor_list", args=[vs.custody.uuid]), HTTP_ACCEPT_LANGUAGE=lang
        )
    assert r.status_code == 200
    body = r.content.decode()
    assert vs.adult.full_name in body and vs.child.full_name in body
    with translation.override(lang):
        banned = str(RestrictionKind.BANNED.label)
    assert banned not in body  # the ended restriction is not in force
    # Add one through the page.
    r = client.post(
        reverse("visits:visitor_restriction_add", args=[vs.adult.uuid]),
        {
            "kind": "not_with_child",
            "child": str(vs.child.uuid),
            "reason": "Décision du juge des mineurs",
            "starts_on": today.isoformat(),
        },
        HTTP_ACCEPT_LANGUAGE=lang,
    )
    assert r.status_code == 302
    restriction = VisitorRestriction.objects.get(kind="not_with_child")
    assert restriction.child == vs.child
    r = client.get(reverse("visits:visitor", args=[vs.adult.uuid]), HTTP_ACCEPT_LANGUAGE=lang)
    body = r.content.decode()
    assert "Décision du juge des mineurs" in body and "Ancienne" in body
    assert reverse("visits:restriction_lift", args=[restriction.uuid]) in body
    r = client.post(
        reverse("visits:restriction_lift", args=[restriction.uuid]), {"reason": "Levée"}
    )
    restriction.refresh_from_db()
    assert restriction.lifted_at is not None


def test_remove_visitor_page(client, vs):
    client.force_login(vs.officer)
    client.post(reverse("visits:visitor_remove", args=[vs.adult.uuid]), {"reason": "Fraude"})
    vs.adult.refresh_from_db()
    assert vs.adult.status == "removed"


def test_custody_section(client, vs):
    # Registered at import; ``VisitsConfig.ready`` imports it (see docs/visits-lists.md).
    import idmaj.visits.sections  # noqa: F401

    _request(vs)
    client.force_login(vs.officer)
    r = client.get(reverse("inmates:detail", args=[vs.custody.uuid]))
    assert r.status_code == 200
    assert reverse("visits:visitor_list", args=[vs.custody.uuid]) in r.content.decode()
    # Not to users without visits.view there.
    client.force_login(vs.other_officer)
    assert client.get(reverse("inmates:detail", args=[vs.custody.uuid])).status_code == 404
