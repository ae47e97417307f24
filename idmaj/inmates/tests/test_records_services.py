"""Records services: the director's alert (Mandela rule 7), property, family, the notice to
the family, identity/photo/committal corrections. Every refusal leaves the data unchanged."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connections
from django.utils import timezone

from idmaj.core.errors import ConflictError, DomainError, PermissionDenied
from idmaj.core.models import AuditEntry, Notification
from idmaj.core.tests.factories import UserFactory, grant
from idmaj.inmates import services
from idmaj.inmates.constants import CustodyStatus, PropertyStatus
from idmaj.inmates.models import (
    AdmissionAlert,
    AdmissionNotice,
    CustodyPeriod,
    FamilyMember,
    Person,
    PropertyItem,
)
from idmaj.inmates.names import search_key
from idmaj.inmates.selectors import family_member_list, inmate_search

from .factories import (
    CustodyPeriodFactory,
    FamilyMemberFactory,
    OffenceFactory,
    PropertyItemFactory,
    committal_data,
    person_data,
)
from .records_fixtures import image_bytes, outbox, rec_fixture, upload  # noqa: F401

TODAY = timezone.localdate()


def _state():
    """Everything the records services may write."""
    return (
        AdmissionAlert.objects.count(),
        list(AdmissionAlert.objects.values_list("acknowledged_at", "action_taken")),
        list(PropertyItem.objects.values_list("status", "recipient", "closed_at", "facility_id")),
        list(FamilyMember.objects.order_by("pk").values()),
        AdmissionNotice.objects.count(),
        Notification.objects.count(),
        list(Person.objects.order_by("pk").values()),
        list(CustodyPeriod.objects.order_by("pk").values()),
        AuditEntry.objects.count(),
    )


def _release(custody):
    CustodyPeriod.objects.filter(pk=custody.pk).update(
        status=CustodyStatus.RELEASED, released_at=timezone.now()
    )
    custody.refresh_from_db()


# -- the director's alert --------------------------------------------------------------------
def test_admission_with_injuries_alerts_the_director(
    rec, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        custody = services.inmate_admit(
            actor=rec["officer_a"],
            facility=rec["a"],
            person_data=person_data(),
            committal=committal_data(
                injuries_observed="  Hématome à l'œil gauche  ",
                ill_treatment_complaint="",
            ),
        )
    custody.refresh_from_db()
    assert custody.injuries_observed == "Hématome à l'œil gauche"
    assert custody.ill_treatment_complaint == ""
    alert = AdmissionAlert.objects.get()
    assert (alert.custody, alert.facility_id) == (custody, rec["a"].pk)
    assert alert.injuries == "Hématome à l'œil gauche" and alert.complaint == ""
    assert alert.acknowledged_at is None
    entries = list(AuditEntry.objects.order_by("seq"))
    assert [(e.object_type, e.chain) for e in entries] == [
        ("inmates.person", rec["a"].pk),
        ("inmates.custodyperiod", rec["a"].pk),
        ("inmates.admissionalert", rec["a"].pk),
    ]
    assert entries[1].after["injuries_observed"] == "Hématome à l'œil gauche"
    assert entries[2].after["committal_number"] == custody.committal_number
    # the director of OUJDA2 only: not the registry officer, not SALE2's director
    sent = Notification.objects.get()
    assert (sent.channel, sent.recipient, sent.language) == (
        "email",
        "director.oujda2@dgapr.example",
        "fr",
    )
    mails = outbox(settings, "email")
    assert len(mails) == 1 and mails[0]["to"] == "director.oujda2@dgapr.example"
    assert custody.committal_number in mails[0]["subject"]
    assert "blessures visibles" in mails[0]["text"] or "visible injuries" in mails[0]["text"]
    # the facts stay in the system
    assert "Hématome" not in mails[0]["text"]


def test_admission_without_findings_raises_no_alert(rec):
    services.inmate_admit(
        actor=rec["officer_a"],
        facility=rec["a"],
        person_data=person_data(),
        committal=committal_data(injuries_observed="   "),
    )
    assert AdmissionAlert.objects.count() == 0
    assert Notification.objects.count() == 0


def test_alert_recipients(rec, make_user):
    a = rec["a"]
    # a director without e-mail but with a phone gets an SMS; without either, only the widget
    rec["director_a"].email = ""
    rec["director_a"].phone = "+212600000009"
    rec["director_a"].save()
    make_user("deputy.oujda2", "institution_director", facility=a)
    regional = make_user("regional.alerts", "institution_director", region=a.region)
    make_user("admin.national", "system_admin")
    expired = UserFactory(username="former.director")
    assignment = grant(expired, "institution_director", facility=a)
    assignment.valid_until = TODAY - dt.timedelta(days=1)
    assignment.save()
    inactive = make_user("inactive.director", "institution_director", facility=a)
    inactive.is_active = False
    inactive.save()
    regional.email = "regional@dgapr.example"
    regional.save()
    got = {u.username for u in services.admission_alert_recipients(a)}
    assert got == {"director.oujda2", "deputy.oujda2", "regional.alerts"}
    services.inmate_admit(
        actor=rec["officer_a"],
        facility=a,
        person_data=person_data(),
        committal=committal_data(ill_treatment_complaint="Frappé au commissariat"),
    )
    assert sorted(Notification.objects.values_list("channel", "recipient")) == [
        ("email", "regional@dgapr.example"),
        ("sms", "+212600000009"),
    ]


def test_acknowledge_alert(rec):
    services.inmate_admit(
        actor=rec["officer_a"],
        facility=rec["a"],
        person_data=person_data(),
        committal=committal_data(ill_treatment_complaint="Frappé"),
    )
    alert = AdmissionAlert.objects.get()
    done = services.admission_alert_acknowledge(
        actor=rec["director_a"], alert=alert, action_taken="  Examen médical demandé  "
    )
    assert done.acknowledged_at is not None
    assert done.acknowledged_by == rec["director_a"]
    assert done.action_taken == "Examen médical demandé"
    entry = AuditEntry.objects.order_by("-pk").first()
    assert (entry.action, entry.verb, entry.chain) == ("update", "acknowledge", rec["a"].pk)
    assert entry.before["acknowledged_at"] is None
    assert entry.after["action_taken"] == "Examen médical demandé"


@pytest.mark.parametrize(
    ("who", "action", "error", "code"),
    [
        ("officer_a", "Vu", PermissionDenied, "forbidden"),  # no inmates.alerts
        ("director_b", "Vu", PermissionDenied, "forbidden"),  # another institution
        ("director_a", "   ", DomainError, "invalid"),
    ],
)
def test_acknowledge_refused(rec, who, action, error, code):
    services.inmate_admit(
        actor=rec["officer_a"],
        facility=rec["a"],
        person_data=person_data(),
        committal=committal_data(injuries_observed="Plaie"),
    )
    alert = AdmissionAlert.objects.get()
    before = _state()
    with pytest.raises(error) as exc:
        services.admission_alert_acknowledge(actor=rec[who], alert=alert, action_taken=action)
    assert exc.value.code == code
    assert _state() == before


def test_acknowledge_once(rec):
    services.inmate_admit(
        actor=rec["officer_a"],
        facility=rec["a"],
        person_data=person_data(),
        committal=committal_data(injuries_observed="Plaie"),
    )
    alert = AdmissionAlert.objects.get()
    services.admission_alert_acknowledge(actor=rec["director_a"], alert=alert, action_taken="Vu")
    before = _state()
    with pytest.raises(ConflictError) as exc:
        services.admission_alert_acknowledge(
            actor=rec["director_a"], alert=alert, action_taken="Encore"
        )
    assert exc.value.code == "already_acknowledged"
    assert _state() == before


# -- personal property -----------------------------------------------------------------------
def test_property_add(rec):
    custody = rec["custody_a"]
    item = services.property_item_add(
        actor=rec["officer_a"],
        custody=custody,
        description="  Montre   en acier ",
        quantity=1,
        stored_location="Casier 12",
    )
    assert item.detention_id == custody.detention_id and item.facility_id == rec["a"].pk
    assert item.description == "Montre en acier" and item.status == PropertyStatus.KEPT
    entry = AuditEntry.objects.get()
    assert (entry.object_type, entry.action, entry.chain) == (
        "inmates.propertyitem",
        "create",
        rec["a"].pk,
    )
    assert entry.after["custody_uuid"] == str(custody.uuid)


@pytest.mark.parametrize(
    ("who", "kwargs", "error", "field"),
    [
        ("viewer_a", {}, PermissionDenied, None),
        ("officer_b", {}, PermissionDenied, None),
        ("director_b", {}, PermissionDenied, None),
        ("officer_a", {"description": "  "}, DomainError, "description"),
        ("officer_a", {"quantity": 0}, DomainError, "quantity"),
    ],
)
def test_property_add_refused(rec, who, kwargs, error, field):
    before = _state()
    args = {"description": "Téléphone", "quantity": 1, **kwargs}
    with pytest.raises(error) as exc:
        services.property_item_add(actor=rec[who], custody=rec["custody_a"], **args)
    assert exc.value.field == field
    assert _state() == before


def test_property_add_after_release_refused(rec):
    _release(rec["custody_a"])
    before = _state()
    with pytest.raises(ConflictError) as exc:
        services.property_item_add(
            actor=rec["officer_a"], custody=rec["custody_a"], description="Montre"
        )
    assert exc.value.code == "not_in_custody"
    assert _state() == before


def _item(rec, **kw):
    custody = rec["custody_a"]
    return PropertyItemFactory(
        detention=custody.detention, facility=custody.facility, description="Montre", **kw
    )


def test_property_return_to_the_prisoner(rec):
    item = _item(rec)
    done = services.property_item_return(actor=rec["officer_a"], item=item, status="returned")
    assert done.status == PropertyStatus.RETURNED
    assert done.recipient == "Youssef Idrissi"  # the prisoner, by default
    assert done.closed_at is not None
    entry = AuditEntry.objects.get()
    assert entry.before["status"] == "kept" and entry.after["status"] == "returned"
    assert entry.chain == rec["a"].pk


def test_property_handed_over_and_disposed(rec):
    at = timezone.now() - dt.timedelta(hours=1)
    one = services.property_item_return(
        actor=rec["releaser_a"], item=_item(rec), status="handed_over", recipient="Fatima", at=at
    )
    assert (one.status, one.recipient, one.closed_at) == ("handed_over", "Fatima", at)
    two = services.property_item_return(actor=rec["officer_a"], item=_item(rec), status="disposed")
    assert two.status == "disposed" and two.recipient == ""


@pytest.mark.parametrize(
    ("who", "kwargs", "error", "code", "field"),
    [
        ("viewer_a", {"status": "returned"}, PermissionDenied, "forbidden", None),
        ("officer_b", {"status": "returned"}, PermissionDenied, "forbidden", None),
        ("officer_a", {"status": "kept"}, DomainError, "invalid", "status"),
        ("officer_a", {"status": "lost"}, DomainError, "invalid", "status"),
        (
            "officer_a",
            {"status": "handed_over", "recipient": " "},
            DomainError,
            "invalid",
            "recipient",
        ),
        (
            "officer_a",
            {"status": "returned", "at": timezone.now() + dt.timedelta(days=1)},
            DomainError,
            "invalid",
            "at",
        ),
        (
            "officer_a",
            {"status": "returned", "at": timezone.now() - dt.timedelta(days=30)},
            DomainError,
            "invalid",
            "at",
        ),
    ],
)
def test_property_return_refused(rec, who, kwargs, error, code, field):
    item = _item(rec)
    before = _state()
    with pytest.raises(error) as exc:
        services.property_item_return(actor=rec[who], item=item, **kwargs)
    assert (exc.value.code, exc.value.field) == (code, field)
    assert _state() == before


def test_property_returned_once(rec):
    item = _item(rec)
    services.property_item_return(actor=rec["officer_a"], item=item, status="returned")
    before = _state()
    with pytest.raises(ConflictError) as exc:
        services.property_item_return(actor=rec["officer_a"], item=item, status="disposed")
    assert exc.value.code == "already_closed"
    assert _state() == before


def test_property_is_returned_where_it_is_stored(rec):
    """After a transfer the item is stored at the new institution: its officers return it."""
    item = _item(rec)
    PropertyItem.objects.filter(pk=item.pk).update(facility=rec["b"])
    item.refresh_from_db()
    with pytest.raises(PermissionDenied):
        services.property_item_return(actor=rec["officer_a"], item=item, status="returned")
    done = services.property_item_return(actor=rec["officer_b"], item=item, status="returned")
    assert done.status == "returned"
    assert AuditEntry.objects.get().chain == rec["b"].pk


# -- family and contacts ---------------------------------------------------------------------
def _child(**kw):
    values = {
        "relationship": "child",
        "full_name": "Amine Idrissi",
        "birth_date": TODAY.replace(year=TODAY.year - 7),
        "carer": "Sa mère, Fatima Zahra",
    }
    values.update(kw)
    return values


def test_family_member_add(rec):
    member = services.family_member_add(
        actor=rec["officer_a"],
        custody=rec["custody_a"],
        relationship="spouse",
        full_name="  Fatima   Zahra ",
        phone="06 12 34 56 78",
        is_emergency_contact=True,
        is_next_of_kin=True,
        language="fr",
    )
    assert member.person == rec["custody_a"].person
    assert member.full_name == "Fatima Zahra"
    assert member.phone == "+212612345678"
    assert member.is_emergency_contact and member.is_next_of_kin and member.language == "fr"
    child = services.family_member_add(actor=rec["officer_a"], custody=rec["custody_a"], **_child())
    assert child.carer == "Sa mère, Fatima Zahra"
    # an adult child needs no carer; a number abroad is kept in E.164
    adult = services.family_member_add(
        actor=rec["officer_a"],
        custody=rec["custody_a"],
        **_child(birth_date=dt.date(1990, 1, 1), carer="", phone="+33 6 12 34 56 78"),
    )
    assert adult.phone == "+33612345678"
    entries = list(AuditEntry.objects.order_by("seq"))
    assert [(e.object_type, e.action, e.chain) for e in entries] == [
        ("inmates.familymember", "create", rec["a"].pk)
    ] * 3
    assert entries[0].after["phone"] == "+212612345678"


@pytest.mark.parametrize(
    ("who", "values", "error", "field"),
    [
        ("viewer_a", {}, PermissionDenied, None),
        ("officer_b", {}, PermissionDenied, None),
        ("officer_a", {"birth_date": None}, DomainError, "birth_date"),
        ("officer_a", {"carer": ""}, DomainError, "carer"),
        ("officer_a", {"birth_date": TODAY + dt.timedelta(days=1)}, DomainError, "birth_date"),
        ("officer_a", {"phone": "12345"}, DomainError, "phone"),
        ("officer_a", {"phone": "0522123456"}, DomainError, "phone"),  # a fixed line
        ("officer_a", {"phone": "not a phone"}, DomainError, "phone"),
        ("officer_a", {"language": "en"}, DomainError, "language"),
        ("officer_a", {"full_name": "  "}, DomainError, "full_name"),
        ("officer_a", {"relationship": "cousin"}, DomainError, "relationship"),
        ("officer_a", {"sex": "X"}, DomainError, "sex"),
    ],
)
def test_family_member_add_refused(rec, who, values, error, field):
    before = _state()
    with pytest.raises(error) as exc:
        services.family_member_add(actor=rec[who], custody=rec["custody_a"], **_child(**values))
    assert exc.value.field == field
    assert _state() == before


def test_family_member_add_after_release_refused(rec):
    _release(rec["custody_a"])
    before = _state()
    with pytest.raises(ConflictError):
        services.family_member_add(actor=rec["officer_a"], custody=rec["custody_a"], **_child())
    assert _state() == before


def test_family_member_update_audits_changed_fields_only(rec):
    member = FamilyMemberFactory(person=rec["custody_a"].person, full_name="Fatima")
    done = services.family_member_update(
        actor=rec["officer_a"],
        custody=rec["custody_a"],
        member=member,
        changes={"full_name": "Fatima", "phone": "0698765432", "is_next_of_kin": True},
    )
    assert done.phone == "+212698765432" and done.is_next_of_kin
    entry = AuditEntry.objects.get()
    assert entry.before == {"phone": "+212612345678", "is_next_of_kin": False}
    assert entry.after == {"phone": "+212698765432", "is_next_of_kin": True}
    # nothing changed: no entry
    services.family_member_update(
        actor=rec["officer_a"],
        custody=rec["custody_a"],
        member=done,
        changes={"full_name": "Fatima"},
    )
    assert AuditEntry.objects.count() == 1


@pytest.mark.parametrize(
    ("who", "changes", "error", "field"),
    [
        ("viewer_a", {"full_name": "X"}, PermissionDenied, None),
        ("officer_b", {"full_name": "X"}, PermissionDenied, None),
        ("officer_a", {"person": 1}, DomainError, None),
        ("officer_a", {"relationship": "child"}, DomainError, "birth_date"),
        ("officer_a", {"phone": "0000"}, DomainError, "phone"),
    ],
)
def test_family_member_update_refused(rec, who, changes, error, field):
    member = FamilyMemberFactory(person=rec["custody_a"].person)
    before = _state()
    with pytest.raises(error) as exc:
        services.family_member_update(
            actor=rec[who], custody=rec["custody_a"], member=member, changes=changes
        )
    assert exc.value.field == field
    assert _state() == before


def test_family_member_of_another_person_refused(rec):
    other = FamilyMemberFactory(person=rec["custody_b"].person)
    before = _state()
    with pytest.raises(DomainError) as exc:
        services.family_member_update(
            actor=rec["officer_a"], custody=rec["custody_a"], member=other, changes={"note": "x"}
        )
    assert exc.value.field == "family_member"
    with pytest.raises(DomainError):
        services.family_member_remove(
            actor=rec["officer_a"], custody=rec["custody_a"], member=other
        )
    assert _state() == before


def test_family_member_remove(rec):
    member = FamilyMemberFactory(person=rec["custody_a"].person)
    notice = services.admission_notice_record(
        actor=rec["officer_a"], custody=rec["custody_a"], family_member=member, channel="phone_call"
    )
    services.family_member_remove(actor=rec["officer_a"], custody=rec["custody_a"], member=member)
    assert not FamilyMember.objects.filter(pk=member.pk).exists()
    notice.refresh_from_db()
    assert notice.family_member is None  # the notice keeps its record
    entry = AuditEntry.objects.order_by("-pk").first()
    assert (entry.action, entry.object_id, entry.chain) == ("delete", str(member.uuid), rec["a"].pk)
    assert entry.before["full_name"] == member.full_name


def test_family_member_remove_refused(rec):
    member = FamilyMemberFactory(person=rec["custody_a"].person)
    before = _state()
    with pytest.raises(PermissionDenied):
        services.family_member_remove(
            actor=rec["viewer_a"], custody=rec["custody_a"], member=member
        )
    assert _state() == before


def test_reading_the_family_is_audited(rec):
    FamilyMemberFactory.create_batch(2, person=rec["custody_a"].person)
    members = family_member_list(fetched_by=rec["viewer_a"], custody=rec["custody_a"])
    assert len(members) == 2
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.verb, entry.chain, entry.actor_username) == (
        "read",
        "family_members",
        rec["a"].pk,
        "viewer.oujda2",
    )
    assert entry.object_id == str(rec["custody_a"].person.uuid)
    _release(rec["custody_a"])
    with pytest.raises(ConflictError):
        family_member_list(fetched_by=rec["viewer_a"], custody=rec["custody_a"])
    assert AuditEntry.objects.count() == 1


# -- the family told of the admission --------------------------------------------------------
def test_notice_by_sms(rec, settings, django_capture_on_commit_callbacks):
    member = FamilyMemberFactory(person=rec["custody_a"].person, language="fr")
    with django_capture_on_commit_callbacks(execute=True):
        notice = services.admission_notice_record(
            actor=rec["officer_a"], custody=rec["custody_a"], family_member=member, channel="sms"
        )
    notice.refresh_from_db()
    assert notice.channel == "sms" and notice.family_member == member
    assert notice.notification.recipient == "+212612345678"
    assert notice.notification.language == "fr"
    assert notice.recorded_by == rec["officer_a"]
    sms = outbox(settings, "sms")
    assert len(sms) == 1 and sms[0]["to"] == "+212612345678"
    assert "Youssef Idrissi" in sms[0]["text"] and "OUJDA2-2026-000501" in sms[0]["text"]
    entry = AuditEntry.objects.get()
    assert entry.after["notification_uuid"] == str(notice.notification.uuid)
    assert entry.chain == rec["a"].pk
    # in Arabic, with the Arabic name
    ar = FamilyMemberFactory(person=rec["custody_a"].person, language="ar", phone="+212612000000")
    notice = services.admission_notice_record(
        actor=rec["officer_a"], custody=rec["custody_a"], family_member=ar, channel="sms"
    )
    assert "يوسف الإدريسي" in notice.notification.body


def test_notice_without_sms(rec):
    member = FamilyMemberFactory(person=rec["custody_a"].person)
    call = services.admission_notice_record(
        actor=rec["officer_a"], custody=rec["custody_a"], family_member=member, channel="phone_call"
    )
    told = services.admission_notice_record(
        actor=rec["officer_a"],
        custody=rec["custody_a"],
        channel="in_person",
        note="Son frère, au parloir",
    )
    none = services.admission_notice_record(
        actor=rec["officer_a"], custody=rec["custody_a"], channel="none", note="Le détenu refuse"
    )
    assert call.notification is None and told.notification is None and none.notification is None
    assert Notification.objects.count() == 0
    assert AdmissionNotice.objects.count() == 3


@pytest.mark.parametrize(
    ("who", "kwargs", "error", "code", "field"),
    [
        ("viewer_a", {"channel": "none", "note": "x"}, PermissionDenied, "forbidden", None),
        ("officer_b", {"channel": "none", "note": "x"}, PermissionDenied, "forbidden", None),
        ("officer_a", {"channel": "none"}, DomainError, "invalid", "note"),
        ("officer_a", {"channel": "sms"}, DomainError, "invalid", "family_member"),
        (
            "officer_a",
            {"channel": "sms", "member": "no_phone"},
            DomainError,
            "no_phone",
            "family_member",
        ),
        (
            "officer_a",
            {"channel": "sms", "member": "other"},
            DomainError,
            "invalid",
            "family_member",
        ),
        ("officer_a", {"channel": "in_person"}, DomainError, "invalid", "family_member"),
        ("officer_a", {"channel": "fax", "note": "x"}, DomainError, "invalid", "channel"),
    ],
)
def test_notice_refused(rec, who, kwargs, error, code, field):
    members = {
        "no_phone": FamilyMemberFactory(person=rec["custody_a"].person, phone=""),
        "other": FamilyMemberFactory(person=rec["custody_b"].person),
    }
    kwargs = dict(kwargs)
    if "member" in kwargs:
        kwargs["family_member"] = members[kwargs.pop("member")]
    before = _state()
    with pytest.raises(error) as exc:
        services.admission_notice_record(actor=rec[who], custody=rec["custody_a"], **kwargs)
    assert (exc.value.code, exc.value.field) == (code, field)
    assert _state() == before


# -- identity corrections --------------------------------------------------------------------
def test_person_update(rec):
    custody = rec["custody_a"]
    person = services.person_update(
        actor=rec["officer_a"],
        custody=custody,
        changes={
            "first_name_latin": "  Youssef ",  # unchanged once trimmed
            "family_name_latin": "El Alaoui",
            "cin": "ab 333-333",
            "distinguishing_marks": "Cicatrice au menton",
        },
    )
    assert person.family_name_latin == "El Alaoui" and person.cin == "AB333333"
    person.refresh_from_db()
    assert person.cin == "AB333333"
    assert person.name_key_latin == search_key("Youssef El Alaoui") != search_key("Youssef Idrissi")
    entry = AuditEntry.objects.get()
    assert (entry.object_type, entry.action, entry.verb, entry.chain) == (
        "inmates.person",
        "update",
        "identity_correction",
        rec["a"].pk,
    )
    assert entry.before == {
        "family_name_latin": "Idrissi",
        "cin": "AB111111",
        "distinguishing_marks": "",
    }
    assert entry.after == {
        "family_name_latin": "El Alaoui",
        "cin": "AB333333",
        "distinguishing_marks": "Cicatrice au menton",
    }
    # the search finds the corrected name
    assert [c.pk for c in inmate_search(fetched_by=rec["officer_a"], q="alaoui youssef")] == [
        custody.pk
    ]
    # nothing changed: no entry
    services.person_update(actor=rec["officer_a"], custody=custody, changes={"cin": "AB333333"})
    assert AuditEntry.objects.count() == 1


@pytest.mark.parametrize(
    ("who", "changes", "error", "code", "field"),
    [
        ("viewer_a", {"birth_place": "Fès"}, PermissionDenied, "forbidden", None),
        ("officer_b", {"birth_place": "Fès"}, PermissionDenied, "forbidden", None),
        ("releaser_a", {"birth_place": "Fès"}, PermissionDenied, "forbidden", None),
        ("officer_a", {"cin": "cd-222222"}, ConflictError, "cin_on_file", "cin"),
        ("officer_a", {"cin": "123"}, DomainError, "invalid", "cin"),
        ("officer_a", {"nationality": "Maroc"}, DomainError, "invalid", "nationality"),
        ("officer_a", {"sex": "X"}, DomainError, "invalid", "sex"),
        ("officer_a", {"first_name_ar": "", "first_name_latin": ""}, DomainError, "invalid", None),
        ("officer_a", {"photo": "x.jpg"}, DomainError, "invalid", None),
        ("officer_a", {"name_key_ar": "x"}, DomainError, "invalid", None),
    ],
)
def test_person_update_refused(rec, who, changes, error, code, field):
    before = _state()
    with pytest.raises(error) as exc:
        services.person_update(actor=rec[who], custody=rec["custody_a"], changes=changes)
    assert (exc.value.code, exc.value.field) == (code, field)
    assert _state() == before


def test_person_update_after_transfer_refused(rec):
    _release(rec["custody_a"])
    before = _state()
    with pytest.raises(ConflictError) as exc:
        services.person_update(
            actor=rec["officer_a"], custody=rec["custody_a"], changes={"birth_place": "Fès"}
        )
    assert exc.value.code == "not_in_custody"
    assert _state() == before


# -- photo -----------------------------------------------------------------------------------
def _media_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_photo_set_jpeg_then_png(rec, settings, django_capture_on_commit_callbacks):
    custody = rec["custody_a"]
    with django_capture_on_commit_callbacks(execute=True):
        person = services.person_photo_set(
            actor=rec["officer_a"], custody=custody, upload=upload("x.png", image_bytes("JPEG"))
        )
    first = person.photo.name
    assert first.startswith("persons/photos/") and first.endswith(".jpg")
    files = _media_files(settings)
    assert [p.name for p in files] == [first.rsplit("/", 1)[1]]
    assert str(files[0]).startswith(str(settings.MEDIA_ROOT))
    entry = AuditEntry.objects.get()
    assert (entry.verb, entry.before, entry.after) == ("photo", {"photo": ""}, {"photo": first})
    with django_capture_on_commit_callbacks(execute=True):
        person = services.person_photo_set(
            actor=rec["officer_a"],
            custody=custody,
            upload=upload("photo.jpg", image_bytes("PNG"), "image/png"),
        )
    assert person.photo.name.endswith(".png")
    # the previous file is deleted once the change is committed
    assert [p.name for p in _media_files(settings)] == [person.photo.name.rsplit("/", 1)[1]]


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("photo.jpg", b"This is a text file, not a photo.\n" * 10, "photo_format"),
        ("photo.jpg", image_bytes("GIF"), "photo_format"),
        ("photo.png", image_bytes("BMP"), "photo_format"),
        ("photo.jpg", image_bytes("JPEG")[:200], "photo_format"),  # truncated
        ("photo.jpg", b"\xff\xd8\xff" + b"0" * (2 * 1024 * 1024), "photo_too_large"),
    ],
)
def test_photo_refused(rec, settings, name, content, code):
    before = _state()
    with pytest.raises(DomainError) as exc:
        services.person_photo_set(
            actor=rec["officer_a"], custody=rec["custody_a"], upload=upload(name, content)
        )
    assert (exc.value.code, exc.value.field) == (code, "photo")
    assert _state() == before
    assert _media_files(settings) == []


def test_photo_needs_the_right(rec, settings):
    before = _state()
    for who in ("viewer_a", "officer_b"):
        with pytest.raises(PermissionDenied):
            services.person_photo_set(
                actor=rec[who], custody=rec["custody_a"], upload=upload("p.jpg", image_bytes())
            )
    assert _state() == before
    assert _media_files(settings) == []


# -- committal corrections -------------------------------------------------------------------
def test_custody_update(rec):
    OffenceFactory(code="VOL")
    OffenceFactory(code="ESCR")
    custody = rec["custody_a"]
    done = services.custody_update(
        actor=rec["officer_a"],
        custody=custody,
        changes={
            "committing_authority": custody.committing_authority,  # unchanged
            "court": "  TPI   Oujda ",
            "warrant_reference": "MD-2026-9",
            "offence_codes": ["VOL", "ESCR"],
        },
    )
    assert done.court == "TPI Oujda" and done.warrant_reference == "MD-2026-9"
    assert sorted(done.offences.values_list("code", flat=True)) == ["ESCR", "VOL"]
    entry = AuditEntry.objects.get()
    assert (entry.object_type, entry.verb, entry.chain) == (
        "inmates.custodyperiod",
        "committal_correction",
        rec["a"].pk,
    )
    assert entry.before == {
        "court": "",
        "warrant_reference": custody.warrant_reference,
        "offences": [],
    }
    assert entry.after == {
        "court": "TPI Oujda",
        "warrant_reference": "MD-2026-9",
        "offences": ["ESCR", "VOL"],
    }


@pytest.mark.parametrize(
    ("who", "changes", "error", "field"),
    [
        ("viewer_a", {"court": "X"}, PermissionDenied, None),
        ("officer_b", {"court": "X"}, PermissionDenied, None),
        ("officer_a", {"committing_authority": "  "}, DomainError, "committing_authority"),
        ("officer_a", {"warrant_reference": ""}, DomainError, "warrant_reference"),
        ("officer_a", {"offence_codes": ["NOPE"]}, DomainError, "offence_codes"),
        ("officer_a", {"legal_status": "convicted"}, DomainError, None),
        ("officer_a", {"committed_at": timezone.now()}, DomainError, None),
    ],
)
def test_custody_update_refused(rec, who, changes, error, field):
    before = _state()
    with pytest.raises(error) as exc:
        services.custody_update(actor=rec[who], custody=rec["custody_a"], changes=changes)
    assert exc.value.field == field
    assert _state() == before


# -- concurrency -----------------------------------------------------------------------------
def _race(n, target):
    barrier = threading.Barrier(n)
    results, errors = [], []

    def run(i):
        try:
            barrier.wait(timeout=10)
            results.append(target(i))
        except Exception as exc:  # noqa: BLE001 - collected and asserted on by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results, errors


def _directors(rec, n):
    out = []
    for i in range(n):
        u = UserFactory(username=f"director{i}.oujda2")
        grant(u, "institution_director", facility=rec["a"])
        out.append(u)
    return out


@pytest.mark.django_db(transaction=True)
def test_alert_acknowledged_once_under_concurrency(rec):
    services.inmate_admit(
        actor=rec["officer_a"],
        facility=rec["a"],
        person_data=person_data(),
        committal=committal_data(injuries_observed="Plaie"),
    )
    alert = AdmissionAlert.objects.get()
    directors = _directors(rec, 4)
    results, errors = _race(
        4,
        lambda i: services.admission_alert_acknowledge(
            actor=directors[i], alert=alert, action_taken=f"Suite {i}"
        ),
    )
    assert len(results) == 1 and len(errors) == 3
    assert all(isinstance(e, ConflictError) and e.code == "already_acknowledged" for e in errors)
    alert.refresh_from_db()
    assert alert.action_taken == results[0].action_taken
    assert AuditEntry.objects.filter(verb="acknowledge").count() == 1


@pytest.mark.django_db(transaction=True)
def test_property_returned_once_under_concurrency(rec):
    item = _item(rec)
    officers = _directors(rec, 4)
    results, errors = _race(
        4,
        lambda i: services.property_item_return(
            actor=officers[i], item=item, status="handed_over", recipient=f"Parent {i}"
        ),
    )
    assert len(results) == 1 and len(errors) == 3
    assert all(isinstance(e, ConflictError) and e.code == "already_closed" for e in errors)
    assert AuditEntry.objects.filter(verb="property_return").count() == 1


@pytest.mark.django_db(transaction=True)
def test_same_cin_given_to_two_persons_at_once(rec):
    other = CustodyPeriodFactory(facility=rec["a"])
    custodies = [rec["custody_a"], other]
    results, errors = _race(
        2,
        lambda i: services.person_update(
            actor=rec["officer_a"], custody=custodies[i], changes={"cin": "EE555555"}
        ),
    )
    assert len(results) == 1 and len(errors) == 1
    assert isinstance(errors[0], ConflictError) and errors[0].code == "cin_on_file"
    assert Person.objects.filter(cin="EE555555").count() == 1
