"""Visitor list services: requests, documents, decisions, children, restrictions."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from idmaj.core.errors import ConflictError, DomainError, PermissionDenied
from idmaj.core.models import AuditEntry, Notification
from idmaj.visits import selectors, services
from idmaj.visits.constants import RequestStatus, RestrictionKind, VisitorStatus
from idmaj.visits.models import Visitor, VisitorRequest, VisitorRestriction

from .lists_fixtures import (  # noqa: F401
    PDF,
    _lists_media,
    jpeg_bytes,
    new_family,
    outbox,
    pdf_upload,
    png_bytes,
    prisoner,
    years_ago,
)


def _ask(account, custody, *, name="Youssef Idrissi", document=None, children=(), **kw):
    return services.visitor_request_create(
        account=account,
        committal_number=kw.pop("committal_number", custody.committal_number),
        prisoner_name=name,
        relationship=kw.pop("relationship", "mother"),
        document_kind=kw.pop("document_kind", "family_record"),
        document=document or pdf_upload(),
        children=children,
    )


def _state():
    return (
        VisitorRequest.objects.count(),
        Visitor.objects.count(),
        VisitorRestriction.objects.count(),
        AuditEntry.objects.count(),
        Notification.objects.count(),
        list(VisitorRequest.objects.values_list("status", flat=True).order_by("pk")),
        list(Visitor.objects.values_list("status", flat=True).order_by("pk")),
    )


# -- request -----------------------------------------------------------------------------------
def test_request_create_with_children(vs, settings):
    custody = prisoner(vs.facility)
    family = new_family(language="fr")
    req = _ask(
        family,
        custody,
        name="يوسف الادريسي",  # Arabic, without the hamza
        children=[("Amine Idrissi", years_ago(6)), ("Salma Idrissi", years_ago(12), "sibling")],
    )
    assert req.status == RequestStatus.PENDING
    assert req.facility == vs.facility and req.detention_id == custody.detention_id
    assert req.document_type == "application/pdf"
    # Stored under a random name, in the private media root, with the real type's extension.
    assert req.document.name.startswith(f"visits/documents/{vs.facility.pk}/")
    assert req.document.name.endswith(".pdf") and "livret" not in req.document.name
    assert (settings.MEDIA_ROOT / req.document.name).read_bytes() == PDF
    adult = Visitor.objects.get(request=req, guardian__isnull=True)
    assert adult.account == family and adult.status == VisitorStatus.PENDING
    kids = list(Visitor.objects.filter(guardian=adult).order_by("full_name"))
    assert [(k.full_name, k.relationship) for k in kids] == [
        ("Amine Idrissi", "child"),
        ("Salma Idrissi", "sibling"),
    ]
    assert all(k.birth_date and k.status == VisitorStatus.PENDING for k in kids)
    entry = AuditEntry.objects.get(verb="visitor_request")
    assert entry.actor_id is None and entry.after["family_account"] == str(family.uuid)
    assert entry.chain == vs.facility.pk
    note = Notification.objects.get(template="visitor_request_received")
    assert note.recipient == family.phone and note.language == "fr"
    assert "Youssef Idrissi" in note.body


@pytest.mark.parametrize(
    "name",
    ["Youssef Idrissi", "idrissi youssef", "Yusef El Idrissi", "يوسف الإدريسي", "الإدريسي يوسف"],
)
def test_request_name_variants_match(vs, name):
    custody = prisoner(vs.facility)
    assert _ask(new_family(), custody, name=name).pk


@pytest.mark.parametrize(
    "number,name",
    [
        ("same", "Youssef Alaoui"),  # right number, wrong name
        ("same", "Youssef"),  # first name only
        ("NOPE-2026-000001", "Youssef Idrissi"),  # unknown number
        ("", "Youssef Idrissi"),
    ],
)
def test_request_mismatch_is_not_found(vs, number, name):
    custody = prisoner(vs.facility)
    before = _state()
    number = custody.committal_number if number == "same" else number
    with pytest.raises(DomainError) as exc:
        _ask(new_family(), custody, name=name, committal_number=number)
    assert exc.value.code == "prisoner_not_found"
    assert _state() == before


def test_request_released_prisoner_is_not_found(vs):
    custody = prisoner(vs.facility)
    type(custody).objects.filter(pk=custody.pk).update(
        status="released", released_at=timezone.now()
    )
    with pytest.raises(DomainError) as exc:
        _ask(new_family(), custody)
    assert exc.value.code == "prisoner_not_found"


def test_request_not_found_answers_alike(vs):
    """Unknown number and wrong name give the same message: nothing to enumerate."""
    custody = prisoner(vs.facility)
    messages = set()
    for number, name in ((custody.committal_number, "Karim Tazi"), ("X-1", "Youssef Idrissi")):
        with pytest.raises(DomainError) as exc:
            _ask(new_family(), custody, name=name, committal_number=number)
        messages.add((exc.value.code, str(exc.value.message), exc.value.field))
    assert len(messages) == 1


@pytest.mark.parametrize(
    "upload,code",
    [
        # an executable renamed .pdf and sent as application/pdf
        (pdf_upload("livret.pdf", b"MZ\x90\x00" + b"\x00" * 100), "document_type"),
        # HTML with a .jpg name
        (
            pdf_upload("photo.jpg", b"<html><script>x</script></html>", "image/jpeg"),
            "document_type",
        ),
        (pdf_upload("empty.pdf", b""), "document_required"),
    ],
)
def test_request_document_refused(vs, upload, code, settings):
    custody = prisoner(vs.facility)
    before = _state()
    with pytest.raises(DomainError) as exc:
        _ask(new_family(), custody, document=upload)
    assert exc.value.code == code and exc.value.field == "document"
    assert _state() == before
    assert not (settings.MEDIA_ROOT / "visits").exists()


def test_request_document_too_big(vs, settings):
    settings.VISITS_DOCUMENT_MAX_BYTES = 1024
    custody = prisoner(vs.facility)
    big = pdf_upload(content=PDF + b"0" * 2000)
    with pytest.raises(DomainError) as exc:
        _ask(new_family(), custody, document=big)
    assert exc.value.code == "document_too_big"
    assert not VisitorRequest.objects.filter(detention_id=custody.detention_id).exists()


@pytest.mark.parametrize(
    "content,ctype,ext", [(png_bytes, "image/png", "png"), (jpeg_bytes, "image/jpeg", "jpg")]
)
def test_request_images_typed_by_content(vs, content, ctype, ext):
    custody = prisoner(vs.facility)
    # The name says PDF; the content decides.
    req = _ask(new_family(), custody, document=pdf_upload("scan.pdf", content()))
    assert req.document_type == ctype and req.document.name.endswith("." + ext)


def test_second_pending_request_refused(vs):
    custody = prisoner(vs.facility)
    family = new_family()
    _ask(family, custody)
    before = _state()
    with pytest.raises(ConflictError) as exc:
        _ask(family, custody)
    assert exc.value.code == "request_pending"
    assert _state() == before


def test_already_on_list(vs):
    with pytest.raises(ConflictError) as exc:
        _ask(vs.account, vs.custody, name=str(vs.custody.person.full_name_latin))
    assert exc.value.code == "already_on_list"


def test_list_full_counts_approved_and_pending(vs):
    vs.policy.max_list_size = 3
    vs.policy.save()
    # vs.custody's list: the adult and the child (approved) = 2.
    name = vs.custody.person.full_name_latin
    with pytest.raises(ConflictError) as exc:
        _ask(new_family(), vs.custody, name=name, children=[("Ali", years_ago(3))])
    assert exc.value.code == "list_full"
    _ask(new_family(), vs.custody, name=name)  # 3: fits
    with pytest.raises(ConflictError):
        _ask(new_family(), vs.custody, name=name)  # a pending one counts too


def test_child_must_be_under_adult_age(vs):
    custody = prisoner(vs.facility)
    with pytest.raises(DomainError) as exc:
        _ask(new_family(), custody, children=[("Hamza", years_ago(18))])
    assert exc.value.code == "child_is_adult"
    with pytest.raises(DomainError) as exc:
        _ask(new_family(), custody, children=[("Hamza", None)])
    assert exc.value.code == "child_birth_date"
    assert _ask(new_family(), custody, children=[("Hamza", years_ago(17, days=-1))]).pk


# -- decisions ---------------------------------------------------------------------------------
def test_approve_notifies(vs, settings, django_capture_on_commit_callbacks):
    custody = prisoner(vs.facility)
    family = new_family()
    req = _ask(family, custody, children=[("Amine", years_ago(5))])
    with django_capture_on_commit_callbacks(execute=True):
        services.visitor_request_approve(actor=vs.officer, request=req)
    req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED and req.decided_by == vs.officer
    assert set(Visitor.objects.filter(request=req).values_list("status", flat=True)) == {"approved"}
    assert all(Visitor.objects.filter(request=req).values_list("approved_at", flat=True))
    sms = [m for m in outbox(settings) if m["template"] == "visitor_request_approved"]
    assert len(sms) == 1 and sms[0]["to"] == family.phone
    assert "يوسف الإدريسي" in sms[0]["text"]
    # Now the family sees the prisoner.
    (entry,) = selectors.family_prisoners(account=family)
    assert entry.custody == custody and [v.full_name for v in entry.visitors][1:] == ["Amine"]


def test_refuse_needs_reason_and_notifies(vs, settings, django_capture_on_commit_callbacks):
    custody = prisoner(vs.facility)
    family = new_family(language="fr")
    req = _ask(family, custody)
    before = _state()
    with pytest.raises(DomainError) as exc:
        services.visitor_request_refuse(actor=vs.officer, request=req, reason="  ")
    assert exc.value.code == "reason_required"
    assert _state() == before
    with django_capture_on_commit_callbacks(execute=True):
        services.visitor_request_refuse(
            actor=vs.officer, request=req, reason="Le livret de famille est illisible."
        )
    req.refresh_from_db()
    assert req.status == RequestStatus.REFUSED
    assert set(Visitor.objects.filter(request=req).values_list("status", flat=True)) == {"refused"}
    (sms,) = [m for m in outbox(settings) if m["template"] == "visitor_request_refused"]
    assert "Le livret de famille est illisible." in sms["text"] and sms["language"] == "fr"
    assert selectors.family_prisoners(account=family) == []
    with pytest.raises(ConflictError) as exc:
        services.visitor_request_approve(actor=vs.officer, request=req)
    assert exc.value.code == "already_decided"


def test_other_institution_cannot_decide(vs):
    custody = prisoner(vs.facility)
    req = _ask(new_family(), custody)
    before = _state()
    for call in (
        lambda: services.visitor_request_approve(actor=vs.other_officer, request=req),
        lambda: services.visitor_request_refuse(actor=vs.other_officer, request=req, reason="x"),
        lambda: services.visitor_remove(actor=vs.other_officer, visitor=vs.adult, reason="x"),
        lambda: services.restriction_add(
            actor=vs.other_officer,
            visitor=vs.adult,
            kind="banned",
            reason="x",
            starts_on=timezone.localdate(),
        ),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert _state() == before


def test_approve_rechecks_list_size(vs):
    vs.policy.max_list_size = 3
    vs.policy.save()
    name = vs.custody.person.full_name_latin
    a = _ask(new_family(), vs.custody, name=name)
    # Another family got approved meanwhile (list: 2 + 1 = 3).
    vs.policy.max_list_size = 4
    vs.policy.save()
    b = _ask(new_family(), vs.custody, name=name)
    vs.policy.max_list_size = 3
    vs.policy.save()
    services.visitor_request_approve(actor=vs.officer, request=a)
    with pytest.raises(ConflictError) as exc:
        services.visitor_request_approve(actor=vs.officer, request=b)
    assert exc.value.code == "list_full"
    b.refresh_from_db()
    assert b.status == RequestStatus.PENDING


@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_never_exceed_the_list(vs):
    """Two officers approve two requests at the same moment for the last place."""
    vs.policy.max_list_size = 3
    vs.policy.save()
    name = vs.custody.person.full_name_latin
    vs.policy.max_list_size = 10
    vs.policy.save()
    reqs = [_ask(new_family(), vs.custody, name=name) for _ in range(4)]
    vs.policy.max_list_size = 3
    vs.policy.save()
    barrier = threading.Barrier(len(reqs))
    results = []

    def approve(req):
        try:
            barrier.wait()
            services.visitor_request_approve(actor=vs.officer, request=req)
            results.append("ok")
        except ConflictError as exc:
            results.append(exc.code)
        except Exception as exc:  # SQLite: "database is locked" counts as a refusal
            results.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(r,)) for r in reqs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 1, results
    assert (
        Visitor.objects.filter(detention_id=vs.custody.detention_id, status="approved").count() == 3
    )


def test_withdraw(vs):
    custody = prisoner(vs.facility)
    family = new_family()
    req = _ask(family, custody)
    other = new_family()
    with pytest.raises(DomainError):
        services.visitor_request_withdraw(account=other, request=req)
    services.visitor_request_withdraw(account=family, request=req)
    req.refresh_from_db()
    assert req.status == RequestStatus.WITHDRAWN
    assert set(Visitor.objects.filter(request=req).values_list("status", flat=True)) == {"removed"}
    # A new request may follow.
    assert _ask(family, custody).pk != req.pk


def test_remove_takes_children_along(vs, django_capture_on_commit_callbacks):
    before = AuditEntry.objects.count()
    with pytest.raises(DomainError):
        services.visitor_remove(actor=vs.officer, visitor=vs.adult, reason="")
    services.visitor_remove(actor=vs.officer, visitor=vs.adult, reason="Comportement au parloir")
    vs.adult.refresh_from_db()
    vs.child.refresh_from_db()
    assert vs.adult.status == vs.child.status == VisitorStatus.REMOVED
    assert AuditEntry.objects.count() == before + 1
    assert Notification.objects.filter(template="visitor_removed").count() == 1
    assert selectors.family_prisoners(account=vs.account) == []


def test_child_added_by_family_is_pending(vs):
    child = services.visitor_child_add(
        account=vs.account, adult_visitor=vs.adult, full_name="Nour", birth_date=years_ago(2)
    )
    assert child.status == VisitorStatus.PENDING and child.guardian == vs.adult
    with pytest.raises(DomainError):
        services.visitor_child_add(
            account=new_family(), adult_visitor=vs.adult, full_name="X", birth_date=years_ago(2)
        )
    with pytest.raises(PermissionDenied):
        services.visitor_approve(actor=vs.other_officer, visitor=child)
    services.visitor_approve(actor=vs.officer, visitor=child)
    child.refresh_from_db()
    assert child.status == VisitorStatus.APPROVED
    staff_child = services.visitor_child_add(
        actor=vs.officer, adult_visitor=vs.adult, full_name="Rim", birth_date=years_ago(1)
    )
    assert staff_child.status == VisitorStatus.APPROVED


# -- restrictions ------------------------------------------------------------------------------
def test_restriction_expiry(vs):
    today = timezone.localdate()
    past = services.restriction_add(
        actor=vs.officer,
        visitor=vs.adult,
        kind=RestrictionKind.BANNED,
        reason="Tentative d'introduction d'objets interdits",
        starts_on=today - dt.timedelta(days=30),
        ends_on=today - dt.timedelta(days=1),
    )
    assert selectors.visitor_active_restrictions(vs.adult, today) == []
    assert selectors.visitor_active_restrictions(vs.adult, today - dt.timedelta(days=1)) == [past]
    current = services.restriction_add(
        actor=vs.officer,
        visitor=vs.adult,
        kind=RestrictionKind.CLOSED_ONLY,
        reason="Parloir avec séparation",
        starts_on=today,
        ends_on=today + dt.timedelta(days=7),
    )
    assert selectors.visitor_active_restrictions(vs.adult, today) == [current]
    assert selectors.visitor_active_restrictions(vs.adult, today + dt.timedelta(days=7)) == [
        current
    ]
    assert selectors.visitor_active_restrictions(vs.adult, today + dt.timedelta(days=8)) == []
    with pytest.raises(ConflictError):
        services.restriction_lift(actor=vs.officer, restriction=past, reason="fin")
    services.restriction_lift(
        actor=vs.officer, restriction=current, reason="Levée par le directeur"
    )
    assert selectors.visitor_active_restrictions(vs.adult, today) == []
    assert selectors.restrictions_active_for([vs.adult, vs.child], today) == {}
    assert AuditEntry.objects.filter(verb="visitor_restriction_lift").get().after["reason"]


def test_not_with_child_validation(vs):
    today = timezone.localdate()
    other_custody = prisoner(vs.facility)
    _adult, (stranger,) = _approved(other_custody, children=[("Ilyas", years_ago(4))])
    before = _state()
    for child, code in (
        (None, "child_required"),
        (stranger, "child_not_on_list"),  # a child of another list
        (vs.adult, "child_not_on_list"),  # not a child
    ):
        with pytest.raises(DomainError) as exc:
            services.restriction_add(
                actor=vs.officer,
                visitor=vs.adult,
                kind=RestrictionKind.NOT_WITH_CHILD,
                reason="Décision du juge",
                starts_on=today,
                child=child,
            )
        assert exc.value.code == code
    with pytest.raises(DomainError):  # a child named on another kind
        services.restriction_add(
            actor=vs.officer,
            visitor=vs.adult,
            kind=RestrictionKind.BANNED,
            reason="x",
            starts_on=today,
            child=vs.child,
        )
    with pytest.raises(DomainError):  # ends before it starts
        services.restriction_add(
            actor=vs.officer,
            visitor=vs.adult,
            kind=RestrictionKind.BANNED,
            reason="x",
            starts_on=today,
            ends_on=today - dt.timedelta(days=1),
        )
    assert _state() == before
    r = services.restriction_add(
        actor=vs.officer,
        visitor=vs.adult,
        kind=RestrictionKind.NOT_WITH_CHILD,
        reason="Décision du juge",
        starts_on=today,
        child=vs.child,
    )
    assert r.child == vs.child
    assert Notification.objects.filter(template="visitor_restricted").count() == 1


def test_restriction_calls_changes(vs, monkeypatch):
    from idmaj.visits.services import changes

    seen = []
    monkeypatch.setattr(
        changes,
        "visits_on_restriction_added",
        lambda *, restriction, actor: seen.append((restriction.kind, actor)),
    )
    services.restriction_add(
        actor=vs.officer,
        visitor=vs.adult,
        kind=RestrictionKind.BANNED,
        reason="x",
        starts_on=timezone.localdate(),
    )
    assert seen == [("banned", vs.officer)]


def _approved(custody, children=()):
    from .factories import approve_on_list

    return approve_on_list(new_family(), custody, children=children)
