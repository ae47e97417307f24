"""Records pages: the custody record's sections, the correction pages, family, property,
notices, the admission alerts and the dashboard widget; scoping of every page."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from idmaj.core.models import AuditEntry, Notification
from idmaj.inmates import services
from idmaj.inmates.models import AdmissionAlert, AdmissionNotice, FamilyMember, Person, PropertyItem

from .factories import (
    CustodyPeriodFactory,
    FamilyMemberFactory,
    OffenceFactory,
    PropertyItemFactory,
    committal_data,
    person_data,
)
from .records_fixtures import image_bytes, outbox, rec_fixture, upload  # noqa: F401


def _login(client, user):
    client.force_login(user)
    return client


def _alert(rec, facility="a", **kw):
    officer = rec["officer_a"] if facility == "a" else rec["officer_b"]
    custody = services.inmate_admit(
        actor=officer,
        facility=rec[facility],
        person_data=person_data(cin="", **kw),
        committal=committal_data(injuries_observed="Hématome au bras droit"),
        confirm_new_person=True,
    )
    return AdmissionAlert.objects.get(custody=custody)


def _reads():
    return AuditEntry.objects.filter(action="read").count()


# -- the custody record page -----------------------------------------------------------------
def test_record_page_sections(client, rec):
    custody = rec["custody_a"]
    FamilyMemberFactory(person=custody.person, full_name="Fatima Zahra", is_next_of_kin=True)
    PropertyItemFactory(
        detention=custody.detention, facility=rec["a"], description="Montre en acier"
    )
    CustodyPeriod = type(custody)
    CustodyPeriod.objects.filter(pk=custody.pk).update(injuries_observed="Plaie à la main")
    r = _login(client, rec["officer_a"]).get(reverse("inmates:detail", args=[custody.uuid]))
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="family"' in html and "Fatima Zahra" in html and "+212612345678" in html
    assert 'id="property"' in html and "Montre en acier" in html
    assert "Plaie à la main" in html  # the registry officer reads the findings
    assert reverse("inmates:family-add", args=[custody.uuid]) in html
    assert reverse("inmates:property-add", args=[custody.uuid]) in html
    assert reverse("inmates:notice-add", args=[custody.uuid]) in html
    assert reverse("inmates:person-edit", args=[custody.uuid]) in html
    assert reverse("inmates:committal-edit", args=[custody.uuid]) in html
    # one audited read of the family per page view, on the institution's chain
    read = AuditEntry.objects.get(action="read")
    assert (read.verb, read.chain, read.actor_username) == (
        "family_members",
        rec["a"].pk,
        "registry.oujda2",
    )
    client.get(reverse("inmates:detail", args=[custody.uuid]))
    assert _reads() == 2


def test_record_page_for_a_viewer(client, rec):
    custody = rec["custody_a"]
    FamilyMemberFactory(person=custody.person, full_name="Fatima Zahra")
    type(custody).objects.filter(pk=custody.pk).update(injuries_observed="Plaie à la main")
    html = _login(client, rec["viewer_a"]).get(reverse("inmates:detail", args=[custody.uuid]))
    html = html.content.decode()
    assert "Fatima Zahra" in html  # family read (audited)...
    assert _reads() == 1
    assert "Plaie à la main" not in html  # ...but not the findings of rule 7
    for name in ("family-add", "property-add", "notice-add", "person-edit", "committal-edit"):
        assert reverse(f"inmates:{name}", args=[custody.uuid]) not in html


def test_record_page_after_release_hides_the_family(client, rec):
    custody = rec["custody_a"]
    FamilyMemberFactory(person=custody.person, full_name="Fatima Zahra")
    type(custody).objects.filter(pk=custody.pk).update(
        status="released", released_at=timezone.now()
    )
    html = _login(client, rec["officer_a"]).get(reverse("inmates:detail", args=[custody.uuid]))
    html = html.content.decode()
    assert "Fatima Zahra" not in html
    assert _reads() == 0
    assert reverse("inmates:family-add", args=[custody.uuid]) not in html


def test_record_page_query_count(client, rec, django_assert_max_num_queries):
    custody = rec["custody_a"]
    client = _login(client, rec["officer_a"])
    url = reverse("inmates:detail", args=[custody.uuid])
    FamilyMemberFactory(person=custody.person)
    PropertyItemFactory(detention=custody.detention, facility=rec["a"])
    member = FamilyMemberFactory(person=custody.person)
    services.admission_notice_record(
        actor=rec["officer_a"], custody=custody, family_member=member, channel="sms"
    )
    with django_assert_max_num_queries(60) as few:
        client.get(url)
    for _ in range(5):
        member = FamilyMemberFactory(person=custody.person)
        PropertyItemFactory(detention=custody.detention, facility=rec["a"])
        services.admission_notice_record(
            actor=rec["officer_a"], custody=custody, family_member=member, channel="sms"
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        r = client.get(url)
    assert (
        r.content.decode().count(reverse("inmates:family-edit", args=[custody.uuid, member.uuid]))
        == 1
    )


# -- scoping ---------------------------------------------------------------------------------
def test_another_institution_gets_404_everywhere(client, rec):
    custody = rec["custody_a"]
    member = FamilyMemberFactory(person=custody.person)
    item = PropertyItemFactory(detention=custody.detention, facility=rec["a"])
    alert = _alert(rec)
    services.person_photo_set(
        actor=rec["officer_a"], custody=custody, upload=upload("p.jpg", image_bytes())
    )
    before = (
        FamilyMember.objects.count(),
        PropertyItem.objects.count(),
        AdmissionNotice.objects.count(),
        list(AdmissionAlert.objects.values_list("acknowledged_at", flat=True)),
        list(Person.objects.values_list("cin", "photo")),
        AuditEntry.objects.exclude(action="login").count(),
    )
    c = custody.uuid
    pages = [
        ("person-edit", [c]),
        ("photo", [c]),
        ("photo-upload", [c]),
        ("committal-edit", [c]),
        ("family-add", [c]),
        ("family-edit", [c, member.uuid]),
        ("family-remove", [c, member.uuid]),
        ("notice-add", [c]),
        ("property-add", [c]),
        ("property-return", [c, item.uuid]),
    ]
    for user in ("officer_b", "director_b"):
        _login(client, rec[user])
        for name, args in pages:
            url = reverse(f"inmates:{name}", args=args)
            assert client.get(url).status_code in (404, 405), url
            assert (
                client.post(url, {"full_name": "X", "description": "X", "cin": ""}).status_code
                == 404
            ), url
        assert client.get(reverse("inmates:alert-detail", args=[alert.uuid])).status_code == 404
        r = client.post(reverse("inmates:alert-detail", args=[alert.uuid]), {"action_taken": "x"})
        assert r.status_code == 404
        assert (
            alert.custody.committal_number
            not in client.get(reverse("inmates:alerts")).content.decode()
        )
    # unknown identifiers answer the same
    _login(client, rec["officer_a"])
    assert client.get(reverse("inmates:family-edit", args=[c, uuid.uuid4()])).status_code == 404
    assert client.get(reverse("inmates:property-return", args=[c, uuid.uuid4()])).status_code == 404
    assert client.get(reverse("inmates:alert-detail", args=[uuid.uuid4()])).status_code == 404
    other = FamilyMemberFactory(person=rec["custody_b"].person)
    assert client.get(reverse("inmates:family-edit", args=[c, other.uuid])).status_code == 404
    after = (
        FamilyMember.objects.count() - 1,
        PropertyItem.objects.count(),
        AdmissionNotice.objects.count(),
        list(AdmissionAlert.objects.values_list("acknowledged_at", flat=True)),
        list(Person.objects.values_list("cin", "photo")),
        AuditEntry.objects.exclude(action="login").count(),
    )
    assert after == before


def test_write_pages_need_the_right(client, rec):
    custody = rec["custody_a"]
    _login(client, rec["viewer_a"])
    for name in ("person-edit", "committal-edit", "family-add", "notice-add", "property-add"):
        assert client.get(reverse(f"inmates:{name}", args=[custody.uuid])).status_code == 403
    r = client.post(reverse("inmates:property-add", args=[custody.uuid]), {"description": "X"})
    assert r.status_code == 403
    assert client.get(reverse("inmates:alerts")).status_code == 403
    assert PropertyItem.objects.count() == 0


# -- corrections -----------------------------------------------------------------------------
def test_identity_page_keeps_what_was_typed(client, rec):
    custody = rec["custody_a"]
    client = _login(client, rec["officer_a"])
    url = reverse("inmates:person-edit", args=[custody.uuid])
    page = client.get(url).content.decode()
    assert 'value="Youssef"' in page and 'value="AB111111"' in page
    assert "<fieldset" in page  # the admission's layout
    data = {
        "first_name_latin": "Youssef",
        "family_name_latin": "Idrissi Alaoui",
        "first_name_ar": "يوسف",
        "family_name_ar": "الإدريسي",
        "sex": "M",
        "nationality": "MA",
        "cin": "CD222222",  # the other prisoner's
        "birth_place": "Berkane",
    }
    r = client.post(url, data)
    assert r.status_code == 409
    html = r.content.decode()
    # the error sits with the CIN field, what was typed is kept
    field = re.search(r'<div class="field has-error">.*?</div>', html, re.S).group(0)
    assert 'name="cin"' in field and "errorlist" in field
    assert 'value="Idrissi Alaoui"' in html and 'value="Berkane"' in html
    assert Person.objects.get(pk=custody.person_id).family_name_latin == "Idrissi"
    r = client.post(url, {**data, "cin": "AB111111"})
    assert r.status_code == 302 and r["Location"].endswith("#identity")
    assert Person.objects.get(pk=custody.person_id).family_name_latin == "Idrissi Alaoui"
    detail = client.get(reverse("inmates:detail", args=[custody.uuid])).content.decode()
    assert "Idrissi Alaoui" in detail and "family_name_latin" in detail  # history


def test_committal_page(client, rec):
    OffenceFactory(code="VOL")
    custody = rec["custody_a"]
    client = _login(client, rec["officer_a"])
    url = reverse("inmates:committal-edit", args=[custody.uuid])
    assert f'value="{custody.warrant_reference}"' in client.get(url).content.decode()
    data = {
        "committing_authority": "Procureur du Roi, TPI Berkane",
        "warrant_reference": "MD-7",
        "court": "TPI Berkane",
        "offence_codes": "VOL, NOPE",
    }
    r = client.post(url, data)
    assert r.status_code == 400
    html = r.content.decode()
    assert "NOPE" in html and 'value="TPI Berkane"' in html
    custody.refresh_from_db()
    assert custody.court == ""
    r = client.post(url, {**data, "offence_codes": "VOL"})
    assert r.status_code == 302
    custody.refresh_from_db()
    assert custody.court == "TPI Berkane" and list(
        custody.offences.values_list("code", flat=True)
    ) == ["VOL"]


def test_photo_upload_and_serving(client, rec, make_user):
    custody = rec["custody_a"]
    client = _login(client, rec["officer_a"])
    upload_url = reverse("inmates:photo-upload", args=[custody.uuid])
    photo_url = reverse("inmates:photo", args=[custody.uuid])
    assert client.get(photo_url).status_code == 404  # none yet
    r = client.post(upload_url, {"photo": upload("cv.txt.jpg", b"just some text\n" * 20)})
    assert r.status_code == 400
    with translation.override("ar"):
        assert gettext("The photo must be a JPEG or PNG image.") in r.content.decode()
    assert not Person.objects.get(pk=custody.person_id).photo
    r = client.post(upload_url, {"photo": upload("me.jpg", image_bytes())})
    assert r.status_code == 302
    r = client.get(photo_url)
    assert r.status_code == 200 and r["Content-Type"] == "image/jpeg"
    assert r["Cache-Control"] == "private, no-store"
    assert b"".join(r.streaming_content)[:3] == b"\xff\xd8\xff"
    # a viewer of the institution sees it, another institution does not
    assert _login(client, rec["viewer_a"]).get(photo_url).status_code == 200
    assert _login(client, rec["officer_b"]).get(photo_url).status_code == 404
    # and the media root is not served
    name = Person.objects.get(pk=custody.person_id).photo.name
    assert client.get(f"/media/{name}").status_code == 404


# -- family, property, notices ---------------------------------------------------------------
def test_family_pages(client, rec):
    custody = rec["custody_a"]
    client = _login(client, rec["officer_a"])
    url = reverse("inmates:family-add", args=[custody.uuid])
    data = {
        "relationship": "child",
        "full_name": "Amine Idrissi",
        "birth_date": (timezone.localdate() - dt.timedelta(days=365 * 6)).isoformat(),
        "phone": "",
        "language": "ar",
    }
    r = client.post(url, data)
    assert r.status_code == 400
    html = r.content.decode()
    field = re.search(r'<div class="field has-error">.*?</div>', html, re.S).group(0)
    assert 'name="carer"' in field
    assert 'value="Amine Idrissi"' in html
    assert FamilyMember.objects.count() == 0
    r = client.post(url, {**data, "carer": "Sa grand-mère"})
    assert r.status_code == 302 and r["Location"].endswith("#family")
    member = FamilyMember.objects.get()
    edit = reverse("inmates:family-edit", args=[custody.uuid, member.uuid])
    assert 'value="Sa grand-mère"' in client.get(edit).content.decode()
    r = client.post(edit, {**data, "carer": "Sa mère", "phone": "0611223344"})
    assert r.status_code == 302
    member.refresh_from_db()
    assert (member.carer, member.phone) == ("Sa mère", "+212611223344")
    r = client.post(reverse("inmates:family-remove", args=[custody.uuid, member.uuid]))
    assert r.status_code == 302
    assert FamilyMember.objects.count() == 0


def test_notice_page_sends_the_sms(client, rec, settings, django_capture_on_commit_callbacks):
    custody = rec["custody_a"]
    member = FamilyMemberFactory(person=custody.person, language="fr")
    client = _login(client, rec["officer_a"])
    url = reverse("inmates:notice-add", args=[custody.uuid])
    r = client.post(url, {"channel": "none"})
    assert r.status_code == 400 and AdmissionNotice.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(url, {"channel": "sms", "family_member": str(member.uuid)})
    assert r.status_code == 302
    assert outbox(settings, "sms")[0]["to"] == member.phone
    html = client.get(reverse("inmates:detail", args=[custody.uuid])).content.decode()
    assert member.full_name in html
    assert Notification.objects.get().get_status_display() in html  # its status


def test_property_pages(client, rec):
    custody = rec["custody_a"]
    client = _login(client, rec["officer_a"])
    url = reverse("inmates:property-add", args=[custody.uuid])
    r = client.post(url, {"description": "Montre", "quantity": "0"})
    assert r.status_code == 400 and PropertyItem.objects.count() == 0
    assert 'value="Montre"' in r.content.decode()
    r = client.post(url, {"description": "Montre", "quantity": "1", "stored_location": "Casier 4"})
    assert r.status_code == 302 and r["Location"].endswith("#property")
    item = PropertyItem.objects.get()
    ret = reverse("inmates:property-return", args=[custody.uuid, item.uuid])
    assert ret in client.get(reverse("inmates:detail", args=[custody.uuid])).content.decode()
    r = client.post(ret, {"status": "handed_over", "recipient": ""})
    assert r.status_code == 400
    r = client.post(ret, {"status": "handed_over", "recipient": "Fatima Zahra"})
    assert r.status_code == 302
    item.refresh_from_db()
    assert (item.status, item.recipient) == ("handed_over", "Fatima Zahra")
    assert client.post(ret, {"status": "returned"}).status_code == 409


# -- admission alerts ------------------------------------------------------------------------
def test_admission_page_alerts_the_director(
    client, rec, settings, django_capture_on_commit_callbacks
):
    client = _login(client, rec["officer_a"])
    page = client.get(reverse("inmates:admit"), {"q": "x"}).content.decode()
    assert 'name="injuries_observed"' in page and 'name="ill_treatment_complaint"' in page
    data = {
        "facility": "OUJDA2",
        "first_name_latin": "Karim",
        "family_name_latin": "Bennani",
        "sex": "M",
        "nationality": "MA",
        "committed_at": timezone.localtime(timezone.now() - dt.timedelta(hours=1)).strftime(
            "%Y-%m-%dT%H:%M"
        ),
        "committing_authority": "Procureur du Roi, TPI Oujda",
        "warrant_reference": "MD-2026-1",
        "legal_status": "remand",
        "ill_treatment_complaint": "Dit avoir été frappé lors de l'arrestation",
    }
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(reverse("inmates:admit"), data)
    assert r.status_code == 302
    alert = AdmissionAlert.objects.get()
    assert alert.complaint == "Dit avoir été frappé lors de l'arrestation"
    assert [m["to"] for m in outbox(settings, "email")] == ["director.oujda2@dgapr.example"]
    # the director's dashboard shows it; the registry officer's does not have the widget
    home = _login(client, rec["director_a"]).get(reverse("core:home")).content.decode()
    assert reverse("inmates:alert-detail", args=[alert.uuid]) in home
    assert alert.custody.committal_number in home
    assert reverse("inmates:alerts") in home
    home = _login(client, rec["officer_a"]).get(reverse("core:home")).content.decode()
    assert reverse("inmates:alerts") not in home
    home = _login(client, rec["director_b"]).get(reverse("core:home")).content.decode()
    assert alert.custody.committal_number not in home


def test_acknowledge_page(client, rec):
    alert = _alert(rec)
    client = _login(client, rec["director_a"])
    page = client.get(reverse("inmates:alerts")).content.decode()
    assert "Hématome au bras droit" in page
    url = reverse("inmates:alert-detail", args=[alert.uuid])
    r = client.post(url, {"action_taken": ""})
    assert r.status_code == 400
    r = client.post(url, {"action_taken": "Examen médical, rapport au procureur"})
    assert r.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == rec["director_a"]
    r = client.post(url, {"action_taken": "encore"})
    assert r.status_code == 409
    home = client.get(reverse("core:home")).content.decode()
    assert reverse("inmates:alert-detail", args=[alert.uuid]) not in home  # no longer open
    # the registry officer (no inmates.alerts) cannot acknowledge
    other = _alert(rec, first_name_latin="Said", family_name_latin="Tazi")
    r = _login(client, rec["officer_a"]).post(
        reverse("inmates:alert-detail", args=[other.uuid]), {"action_taken": "x"}
    )
    assert r.status_code == 404
    other.refresh_from_db()
    assert other.acknowledged_at is None


def test_alerts_page_open_first_and_query_count(client, rec, django_assert_max_num_queries):
    first = _alert(rec, first_name_latin="Ali", family_name_latin="Amrani")
    services.admission_alert_acknowledge(actor=rec["director_a"], alert=first, action_taken="Vu")
    second = _alert(rec, first_name_latin="Omar", family_name_latin="Berrada")
    _alert(rec, facility="b", first_name_latin="Hamza", family_name_latin="Chraibi")
    client = _login(client, rec["director_a"])
    url = reverse("inmates:alerts")
    with django_assert_max_num_queries(20) as few:
        html = client.get(url).content.decode()
    with django_assert_max_num_queries(40) as home:
        client.get(reverse("core:home"))
    assert html.index(second.custody.committal_number) < html.index(first.custody.committal_number)
    assert "Chraibi" not in html and "SALE2" not in html
    for n in range(5):
        CustodyPeriodFactory(facility=rec["a"])
        _alert(rec, first_name_latin=f"P{n}", family_name_latin=f"Q{n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)
    with django_assert_max_num_queries(len(home.captured_queries)):
        client.get(reverse("core:home"))
