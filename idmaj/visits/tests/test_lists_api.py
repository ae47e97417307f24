"""The visitor lists API: staff (``/api/v1/visits/...``) and family portal
(``/api/v1/portal/...``)."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from rest_framework.test import APIClient

from idmaj.core.models import AuditEntry
from idmaj.visits import services
from idmaj.visits.models import Visitor, VisitorRequest, VisitorRestriction

from .factories import approve_on_list
from .lists_fixtures import (  # noqa: F401
    PDF,
    _lists_media,
    family_client,
    jpeg_bytes,
    new_family,
    pdf_upload,
    prisoner,
    years_ago,
)


def _staff(user, lang="fr"):
    c = APIClient(HTTP_ACCEPT_LANGUAGE=lang)
    c.force_authenticate(user)
    return c


def _family(account, lang="ar"):
    c = APIClient(HTTP_ACCEPT_LANGUAGE=lang)
    family_client(c, account)
    return c


def _ask(vs, account=None):
    custody = prisoner(vs.facility)
    return services.visitor_request_create(
        account=account or new_family(),
        committal_number=custody.committal_number,
        prisoner_name="Youssef Idrissi",
        relationship="father",
        document_kind="family_record",
        document=pdf_upload(),
        children=[("Amine", years_ago(4))],
    )


def _state():
    return (
        list(VisitorRequest.objects.values_list("status", flat=True).order_by("pk")),
        list(Visitor.objects.values_list("status", flat=True).order_by("pk")),
        VisitorRestriction.objects.count(),
        AuditEntry.objects.exclude(action="read").count(),
    )


# -- staff -------------------------------------------------------------------------------------
def test_staff_requests_list_detail_approve(vs, django_assert_max_num_queries):
    reqs = [_ask(vs) for _ in range(5)]
    c = _staff(vs.officer)
    with django_assert_max_num_queries(8):
        r = c.get(reverse("api-visits-requests"), {"status": "pending"})
    assert r.status_code == 200
    assert r.data["count"] == 5
    assert [row["uuid"] for row in r.data["results"]] == [str(x.uuid) for x in reqs]
    assert r.data["results"][0]["committal_number"]
    r = c.get(reverse("api-visits-request", args=[reqs[0].uuid]))
    assert r.status_code == 200 and len(r.data["visitors"]) == 2
    r = c.post(reverse("api-visits-request-approve", args=[reqs[0].uuid]))
    assert r.status_code == 200 and r.data["status"] == "approved"
    r = c.post(reverse("api-visits-request-approve", args=[reqs[0].uuid]))
    assert r.status_code == 409 and r.data["code"] == "already_decided"
    r = c.post(reverse("api-visits-request-refuse", args=[reqs[1].uuid]), {"reason": ""})
    assert r.status_code == 400
    r = c.post(reverse("api-visits-request-refuse", args=[reqs[1].uuid]), {"reason": "Illisible"})
    assert r.status_code == 200 and r.data["refusal_reason"] == "Illisible"
    r = c.get(reverse("api-visits-request-document", args=[reqs[2].uuid]))
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert b"".join(r.streaming_content) == PDF


def test_staff_scoping(vs):
    req = _ask(vs)
    c = _staff(vs.other_officer)
    assert c.get(reverse("api-visits-requests")).data["count"] == 0
    before = _state()
    for name, method, body in (
        ("api-visits-request", "get", None),
        ("api-visits-request-approve", "post", None),
        ("api-visits-request-refuse", "post", {"reason": "x"}),
        ("api-visits-request-document", "get", None),
    ):
        r = getattr(c, method)(reverse(name, args=[req.uuid]), body)
        assert r.status_code == 404, name
    r = c.post(
        reverse("api-visits-visitor-restrictions", args=[vs.adult.uuid]),
        {"kind": "banned", "reason": "x", "starts_on": "2026-01-01"},
    )
    assert r.status_code == 404
    assert (
        c.post(
            reverse("api-visits-visitor-remove", args=[vs.adult.uuid]), {"reason": "x"}
        ).status_code
        == 404
    )
    assert _state() == before


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_staff_restrictions(vs, lang):
    c = _staff(vs.officer, lang)
    today = timezone.localdate()
    url = reverse("api-visits-visitor-restrictions", args=[vs.adult.uuid])
    r = c.post(
        url,
        {"kind": "not_with_child", "reason": "Juge", "starts_on": today.isoformat()},
        format="json",
    )
    assert r.status_code == 400 and r.data["code"] == "child_required"
    with translation.override(lang):
        assert r.data["detail"] == gettext("Choose the child.")
    r = c.post(
        url,
        {
            "kind": "not_with_child",
            "reason": "Juge",
            "starts_on": today.isoformat(),
            "child": str(vs.child.uuid),
        },
        format="json",
    )
    assert r.status_code == 201 and r.data["child"] == str(vs.child.uuid) and r.data["in_force"]
    r = c.post(
        url,
        {
            "kind": "banned",
            "reason": "Ancien",
            "starts_on": (today - dt.timedelta(days=9)).isoformat(),
            "ends_on": (today - dt.timedelta(days=2)).isoformat(),
        },
        format="json",
    )
    assert r.status_code == 201 and r.data["in_force"] is False
    rows = c.get(url).data
    assert [x["in_force"] for x in rows] == [True, False]
    lift = reverse("api-visits-restriction-lift", args=[rows[0]["uuid"]])
    r = c.post(lift, {"reason": "Levée"}, format="json")
    assert r.status_code == 200 and r.data["lifted_at"] and r.data["in_force"] is False
    r = c.post(lift, {"reason": "encore"}, format="json")
    assert r.status_code == 409 and r.data["code"] == "already_ended"


# -- family portal -----------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_portal_prisoners_contract(vs, lang, django_assert_max_num_queries):
    vs.policy.rules_ar, vs.policy.rules_fr = "قواعد", "Règles"
    vs.policy.allowed_items_ar, vs.policy.allowed_items_fr = "ملابس", "Vêtements"
    vs.policy.save()
    c = _family(vs.account, lang)
    with django_assert_max_num_queries(8):
        r = c.get(reverse("api-portal-prisoners"))
    assert r.status_code == 200
    (row,) = r.data
    person = vs.custody.person
    assert row["uuid"] == str(vs.adult.uuid)
    assert row["name"] == (person.full_name_ar if lang == "ar" else person.full_name_latin)
    assert row["committal_number"] == vs.custody.committal_number
    assert row["facility"] == {
        "code": vs.facility.code,
        "name": vs.facility.name_ar if lang == "ar" else vs.facility.name_fr,
        "address": vs.facility.address,
    }
    assert row["visitors"] == [
        {"uuid": str(vs.adult.uuid), "full_name": vs.adult.full_name, "is_child": False},
        {"uuid": str(vs.child.uuid), "full_name": vs.child.full_name, "is_child": True},
    ]
    assert row["rules"] == ("قواعد" if lang == "ar" else "Règles")
    assert row["allowed_items"] == ("ملابس" if lang == "ar" else "Vêtements")
    assert row["food_parcels_accepted"] is False
    r = c.get(reverse("api-portal-prisoner", args=[vs.adult.uuid]))
    assert r.status_code == 200 and r.data["uuid"] == str(vs.adult.uuid)


def test_portal_prisoners_query_count_flat(vs, django_assert_max_num_queries):
    for _ in range(4):
        approve_on_list(vs.account, prisoner(vs.facility), children=[("K", years_ago(3))])
    c = _family(vs.account)
    with django_assert_max_num_queries(8):
        r = c.get(reverse("api-portal-prisoners"))
    assert len(r.data) == 5


def test_portal_isolation(vs):
    other = new_family()
    mine, _ = approve_on_list(other, prisoner(vs.facility))
    req = VisitorRequest.objects.get(visitors=vs.adult)
    c = _family(other)
    assert [row["uuid"] for row in c.get(reverse("api-portal-prisoners")).data] == [str(mine.uuid)]
    for u in (vs.adult.uuid, vs.child.uuid, req.uuid, vs.custody.uuid, uuid.uuid4()):
        assert c.get(reverse("api-portal-prisoner", args=[u])).status_code == 404
    assert str(req.uuid) not in json.dumps(c.get(reverse("api-portal-requests")).data)
    before = _state()
    assert c.post(reverse("api-portal-request-withdraw", args=[req.uuid])).status_code == 404
    assert _state() == before
    # Staff credentials do not open the portal API; a family's do not open the staff API.
    assert _staff(vs.officer).get(reverse("api-portal-prisoners")).status_code in (401, 403)
    assert c.get(reverse("api-visits-requests")).status_code in (401, 403)
    assert APIClient().get(reverse("api-portal-prisoners")).status_code in (401, 403)


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_portal_request_create(vs, lang):
    custody = prisoner(vs.facility)
    family = new_family()
    c = _family(family, lang)
    data = {
        "committal_number": custody.committal_number,
        "prisoner_name": "Idrissi Youssef",
        "relationship": "spouse",
        "document_kind": "marriage_certificate",
        "children": json.dumps([{"full_name": "Amine", "birth_date": years_ago(3).isoformat()}]),
    }
    r = c.post(
        reverse("api-portal-requests"),
        dict(data, document=pdf_upload("x.pdf", b"MZ\x90\x00 not a pdf")),
        format="multipart",
    )
    assert r.status_code == 400 and r.data["code"] == "document_type"
    r = c.post(
        reverse("api-portal-requests"),
        dict(data, prisoner_name="Karim", document=pdf_upload()),
        format="multipart",
    )
    assert r.status_code == 400 and r.data["code"] == "prisoner_not_found"
    with translation.override(lang):
        assert r.data["detail"] == gettext(
            "No prisoner in custody matches this committal number and name. Check both as "
            "written on the committal papers."
        )
    assert not VisitorRequest.objects.filter(account=family).exists()
    r = c.post(
        reverse("api-portal-requests"),
        dict(data, document=pdf_upload("scan.jpg", jpeg_bytes(), "image/jpeg")),
        format="multipart",
    )
    assert r.status_code == 201, r.data
    assert r.data["status"] == "pending" and r.data["committal_number"] == custody.committal_number
    req = VisitorRequest.objects.get(uuid=r.data["uuid"])
    assert req.document_type == "image/jpeg"
    assert Visitor.objects.filter(request=req).count() == 2
    r = c.post(
        reverse("api-portal-requests"),
        dict(data, document=pdf_upload()),
        format="multipart",
    )
    assert r.status_code == 409 and r.data["code"] == "request_pending"
    rows = c.get(reverse("api-portal-requests")).data
    assert [x["uuid"] for x in rows] == [str(req.uuid)]
    r = c.post(reverse("api-portal-request-withdraw", args=[req.uuid]))
    assert r.status_code == 200 and r.data["status"] == "withdrawn"


def test_portal_request_children_must_be_json(vs):
    custody = prisoner(vs.facility)
    c = _family(new_family())
    r = c.post(
        reverse("api-portal-requests"),
        {
            "committal_number": custody.committal_number,
            "prisoner_name": "Youssef Idrissi",
            "relationship": "spouse",
            "document_kind": "marriage_certificate",
            "children": "Amine, 2020",
            "document": pdf_upload(),
        },
        format="multipart",
    )
    assert r.status_code == 400 and "children" in r.data
    assert (
        not VisitorRequest.objects.exists()
        or not VisitorRequest.objects.filter(detention_id=custody.detention_id).exists()
    )
