"""Family portal pages of the visitor lists: my prisoners, the request form, a prisoner's
page; a family reaches nothing that is not its own."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from idmaj.core.models import AuditEntry
from idmaj.visits import services
from idmaj.visits.models import Visitor, VisitorRequest

from .factories import approve_on_list
from .lists_fixtures import (  # noqa: F401
    _lists_media,
    family_client,
    new_family,
    pdf_upload,
    png_bytes,
    prisoner,
    years_ago,
)


def _state():
    return (
        list(VisitorRequest.objects.values_list("status", flat=True).order_by("pk")),
        list(Visitor.objects.values_list("status", flat=True).order_by("pk")),
        AuditEntry.objects.count(),
    )


def test_signed_out_goes_to_sign_in(client, vs):
    r = client.get(reverse("portal:home"))
    assert r.status_code == 302 and r["Location"].startswith(reverse("portal:signin"))


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_home_lists_my_prisoners_and_requests(client, vs, lang, django_assert_max_num_queries):
    vs.policy.rules_ar, vs.policy.rules_fr = "قواعد الزيارة", "Règles de visite"
    vs.policy.save()
    pending_custody = prisoner(vs.facility, first_name_latin="Karim", family_name_latin="Tazi")
    services.visitor_request_create(
        account=vs.account,
        committal_number=pending_custody.committal_number,
        prisoner_name="Karim Tazi",
        relationship="sibling",
        document_kind="family_record",
        document=pdf_upload(),
    )
    family_client(client, vs.account)
    with django_assert_max_num_queries(10):
        r = client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE=lang)
    assert r.status_code == 200
    body = r.content.decode()
    person = vs.custody.person
    assert (person.full_name_ar if lang == "ar" else person.full_name_latin) in body
    assert vs.facility.address in body
    assert reverse("portal:prisoner", args=[vs.adult.uuid]) in body
    assert reverse("portal:request_new") in body
    with translation.override(lang):
        assert gettext("My prisoners") in body
        assert str(VisitorRequest._meta.get_field("status").choices[0][1]) in body


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_prisoner_page(client, vs, lang):
    vs.policy.rules_ar, vs.policy.rules_fr = "قواعد الزيارة", "Règles de visite"
    vs.policy.allowed_items_ar, vs.policy.allowed_items_fr = "ملابس", "Vêtements"
    vs.policy.save()
    family_client(client, vs.account)
    r = client.get(reverse("portal:prisoner", args=[vs.adult.uuid]), HTTP_ACCEPT_LANGUAGE=lang)
    assert r.status_code == 200
    body = r.content.decode()
    if lang == "ar":
        assert "قواعد الزيارة" in body and "ملابس" in body and "Règles" not in body
    else:
        assert "Règles de visite" in body and "Vêtements" in body and "قواعد" not in body
    with translation.override(lang):
        assert gettext("Food parcels (qoffa) are not accepted.") in body
    assert vs.child.full_name in body and vs.facility.address in body


def test_family_isolation(client, vs):
    """Another family gets 404 for every identifier that is not its own."""
    other = new_family()
    other_custody = prisoner(vs.facility)
    other_adult, _kids = approve_on_list(other, other_custody)
    req = VisitorRequest.objects.get(visitors=vs.adult)
    family_client(client, other)
    for u in (
        vs.adult.uuid,  # someone else's entry
        vs.child.uuid,  # a child's entry
        req.uuid,  # a request
        vs.custody.uuid,  # the prisoner's own identifiers
        vs.custody.detention.uuid,
        vs.custody.person.uuid,
        uuid.uuid4(),
    ):
        assert client.get(reverse("portal:prisoner", args=[u])).status_code == 404
    before = _state()
    assert client.post(reverse("portal:request_withdraw", args=[req.uuid])).status_code == 404
    r = client.post(
        reverse("portal:child_add", args=[vs.adult.uuid]),
        {"full_name": "Intrus", "birth_date": "2020-01-01", "relationship": "child"},
    )
    assert r.status_code == 404
    assert _state() == before
    # Its own works.
    assert client.get(reverse("portal:prisoner", args=[other_adult.uuid])).status_code == 200
    body = client.get(reverse("portal:home")).content.decode()
    assert str(vs.adult.uuid) not in body and vs.custody.person.family_name_latin not in body


def test_released_prisoner_disappears(client, vs):
    from django.utils import timezone

    type(vs.custody).objects.filter(pk=vs.custody.pk).update(
        status="released", released_at=timezone.now()
    )
    family_client(client, vs.account)
    assert client.get(reverse("portal:prisoner", args=[vs.adult.uuid])).status_code == 404


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_request_form(client, vs, lang, settings):
    custody = prisoner(vs.facility)
    family = new_family()
    family_client(client, family)
    r = client.get(reverse("portal:request_new"), HTTP_ACCEPT_LANGUAGE=lang)
    assert r.status_code == 200
    data = {
        "committal_number": custody.committal_number,
        "prisoner_name": "Youssef Idrissi",
        "relationship": "mother",
        "document_kind": "family_record",
        "children-TOTAL_FORMS": "3",
        "children-INITIAL_FORMS": "0",
        "children-MIN_NUM_FORMS": "0",
        "children-MAX_NUM_FORMS": "8",
        "children-0-full_name": "Amine",
        "children-0-birth_date": years_ago(7).isoformat(),
        "children-0-relationship": "child",
    }
    # A disguised file: refused next to the field, nothing stored.
    bad = dict(data, document=pdf_upload("doc.pdf", b"GIF89a not a pdf"))
    r = client.post(reverse("portal:request_new"), bad, HTTP_ACCEPT_LANGUAGE=lang)
    assert r.status_code == 400
    with translation.override(lang):
        assert gettext("The document must be a PDF file or a photo (JPEG or PNG).") in (
            r.content.decode()
        )
    assert not VisitorRequest.objects.filter(account=family).exists()
    # A wrong name: "not found", the same as an unknown number.
    wrong = dict(data, prisoner_name="Karim Tazi", document=pdf_upload())
    r = client.post(reverse("portal:request_new"), wrong, HTTP_ACCEPT_LANGUAGE=lang)
    assert r.status_code == 400
    assert not VisitorRequest.objects.filter(account=family).exists()
    good = dict(data, document=pdf_upload("photo.png", png_bytes(), "image/png"))
    r = client.post(reverse("portal:request_new"), good, HTTP_ACCEPT_LANGUAGE=lang)
    assert r.status_code == 302
    req = VisitorRequest.objects.get(account=family)
    assert req.document_type == "image/png"
    assert list(
        Visitor.objects.filter(request=req, guardian__isnull=False).values_list(
            "full_name", flat=True
        )
    ) == ["Amine"]


def test_withdraw_and_child_add(client, vs):
    custody = prisoner(vs.facility)
    req = services.visitor_request_create(
        account=vs.account,
        committal_number=custody.committal_number,
        prisoner_name="Youssef Idrissi",
        relationship="sibling",
        document_kind="family_record",
        document=pdf_upload(),
    )
    family_client(client, vs.account)
    assert client.post(reverse("portal:request_withdraw", args=[req.uuid])).status_code == 302
    req.refresh_from_db()
    assert req.status == "withdrawn"
    r = client.post(
        reverse("portal:child_add", args=[vs.adult.uuid]),
        {"full_name": "Nour", "birth_date": years_ago(1).isoformat(), "relationship": "child"},
    )
    assert r.status_code == 302
    assert Visitor.objects.get(full_name="Nour").status == "pending"
