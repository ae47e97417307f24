"""Movement pages: transfer, absences (out, back, out now), the movement history, release
with its checklist and certificate, escape and death with a confirmation step, and the
"Movements" section of the custody record page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from idmaj.core.models import AuditEntry
from idmaj.inmates.constants import CustodyStatus, MovementKind
from idmaj.inmates.models import CustodyIncident, CustodyPeriod, Movement, ReleaseRecord
from idmaj.inmates.services import (
    inmate_release,
    inmate_transfer,
    temporary_absence_start,
)

from . import movements_fixtures as fx
from .factories import CustodyPeriodFactory
from .movements_fixtures import *  # noqa: F403

HTMX = {"HTTP_HX_REQUEST": "true"}


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _login(client, w, name):
    client.force_login(fx.user(w, name))
    return client


def _url(name, custody):
    return reverse(f"inmates:{name}", kwargs={"uuid": custody.uuid})


def _transfer(w, custody=None, to=None, at=None, who="registry.oujda2"):
    return inmate_transfer(
        actor=fx.user(w, who),
        custody=custody or w["custody"],
        to_facility=to or w["b"],
        at=at or fx.ago(hours=2),
        reason="Rapprochement familial",
        authority_reference="DGAPR/T/2026/118",
    )


def _release(w, custody=None):
    return inmate_release(
        actor=fx.user(w, "registry.oujda2"),
        custody=custody or w["custody"],
        reason="acquittal",
        at=fx.ago(hours=1),
        authority="TPI Oujda",
        decision_reference="JUG-2026-55",
        checklist=fx.ALL_TICKED,
    )


def _absence(w, custody=None, **kw):
    values = {
        "kind": MovementKind.COURT,
        "out_at": fx.ago(hours=3),
        "expected_back_at": fx.ago(hours=1),
        "destination": "Cour d'appel d'Oujda",
    }
    values.update(kw)
    return temporary_absence_start(
        actor=fx.user(w, "registry.oujda2"), custody=custody or w["custody"], **values
    )


# -- the section of the custody page ---------------------------------------------------------
@pytest.mark.parametrize(
    ("who", "visible", "hidden"),
    [
        ("registry.oujda2", ["transfer", "absence_start", "release"], ["escape", "death"]),
        ("director.oujda2", ["transfer", "absence_start", "release", "escape", "death"], []),
        ("security.oujda2", ["transfer", "absence_start", "escape", "death"], ["release"]),
        ("viewer.oujda2", [], ["transfer", "absence_start", "release", "escape", "death"]),
    ],
)
def test_section_offers_the_allowed_actions(client, mv, who, visible, hidden):
    w = mv
    html = _login(client, w, who).get(_url("detail", w["custody"])).content.decode()
    assert 'id="movements"' in html
    for name in visible:
        assert f'href="{_url(name, w["custody"])}"' in html
    for name in hidden:
        assert f'href="{_url(name, w["custody"])}"' not in html


def test_section_while_out_offers_the_return_only(client, mv):
    w = mv
    absence = _absence(w)
    html = _login(client, w, "registry.oujda2").get(_url("detail", w["custody"])).content.decode()
    assert reverse("inmates:absence_return", kwargs={"uuid": absence.uuid}) in html
    assert f'href="{_url("release", w["custody"])}"' not in html
    assert f'href="{_url("transfer", w["custody"])}"' not in html
    assert "Cour d&#x27;appel d&#x27;Oujda" in html


# -- transfer --------------------------------------------------------------------------------
def test_transfer_page_and_the_two_files(client, mv):
    w = mv
    old = w["custody"]
    client = _login(client, w, "registry.oujda2")
    r = client.get(_url("transfer", old))
    assert r.status_code == 200
    html = r.content.decode()
    assert 'value="SALE2"' in html and 'value="OUJDA2"' not in html  # not to itself
    assert 'value="CLOSED1"' not in html and 'value="PLANNED1"' not in html
    r = client.post(
        _url("transfer", old),
        {
            "to_facility": "SALE2",
            "at": _local(fx.ago(hours=2)),
            "authority_reference": "DGAPR/T/2026/118",
            "reason": "Rapprochement familial",
            "escort": "Gendarmerie royale",
        },
    )
    assert r.status_code == 302 and r["Location"] == _url("detail", old)
    new = CustodyPeriod.objects.get(facility=w["b"])
    # the sending institution: its closed period and the movement, not the new file
    html = client.get(_url("detail", old)).content.decode()
    assert 'class="badge transferred_out"' in html
    assert "SALE2" in html and "DGAPR/T/2026/118" in html
    assert str(new.uuid) not in html
    assert client.get(_url("detail", new)).status_code == 404
    # the receiving institution: the new file, where it came from as text, the movement
    client = _login(client, w, "registry.sale2")
    html = client.get(_url("detail", new)).content.decode()
    assert "OUJDA2-2026-000900" in html and w["a"].name_ar in html
    assert str(old.uuid) not in html  # no link to the old file
    assert "DGAPR/T/2026/118" in html
    assert client.get(_url("detail", old)).status_code == 404


def test_transfer_page_in_french(client, mv):
    w = mv
    _transfer(w)
    new = CustodyPeriod.objects.get(facility=w["b"])
    client = _login(client, w, "registry.sale2")
    client.cookies["idmaj_language"] = "fr"
    html = client.get(_url("detail", new)).content.decode()
    assert 'dir="ltr"' in html
    assert w["a"].name_fr in html and "OUJDA2-2026-000900" in html


@pytest.mark.parametrize(
    ("who", "status"), [("viewer.oujda2", 403), ("registry.sale2", 404), ("auditor", 403)]
)
def test_transfer_page_refused(client, mv, make_user, who, status):
    w = mv
    if who == "auditor":
        w["users"]["auditor"] = make_user("auditor", "auditor")
    client = _login(client, w, who)
    before = fx.state()
    assert client.get(_url("transfer", w["custody"])).status_code == status
    r = client.post(
        _url("transfer", w["custody"]),
        {
            "to_facility": "SALE2",
            "at": _local(fx.ago(hours=2)),
            "authority_reference": "X",
            "reason": "Y",
        },
    )
    assert r.status_code == status
    assert fx.state() == before


def test_transfer_refusal_is_shown_on_the_form(client, mv):
    w = mv
    _absence(w)
    client = _login(client, w, "registry.oujda2")
    before = fx.state()
    r = client.post(
        _url("transfer", w["custody"]),
        {
            "to_facility": "SALE2",
            "at": _local(fx.ago(hours=1)),
            "authority_reference": "X",
            "reason": "Y",
        },
    )
    assert r.status_code == 409
    assert 'class="errorlist"' in r.content.decode()
    assert fx.state() == before


def test_form_of_a_person_who_left_goes_back_to_the_record(client, mv):
    w = mv
    _release(w)
    client = _login(client, w, "director.oujda2")
    for name in ("transfer", "absence_start", "release", "escape", "death"):
        r = client.get(_url(name, w["custody"]))
        assert r.status_code == 302 and r["Location"] == _url("detail", w["custody"])


# -- temporary absences ----------------------------------------------------------------------
def test_absence_out_and_back_pages(client, mv):
    w = mv
    client = _login(client, w, "registry.oujda2")
    assert client.get(_url("absence_start", w["custody"])).status_code == 200
    r = client.post(
        _url("absence_start", w["custody"]),
        {
            "kind": "hospital",
            "destination": "CHU Mohammed VI, Oujda",
            "out_at": _local(fx.ago(hours=2)),
            "expected_back_at": _local(fx.ago(hours=1)),
            "authority_reference": "REF-MED-1",
        },
    )
    assert r.status_code == 302
    absence = Movement.objects.get()
    assert absence.kind == "hospital" and absence.back_at is None
    # a second departure is refused with the reason
    r = client.post(
        _url("absence_start", w["custody"]),
        {"kind": "court", "destination": "TPI", "out_at": _local(fx.ago(minutes=30))},
    )
    assert r.status_code == 409 and Movement.objects.count() == 1
    # out now, overdue
    html = client.get(reverse("inmates:out_now")).content.decode()
    assert "CHU Mohammed VI, Oujda" in html and 'class="over"' in html
    url = reverse("inmates:absence_return", kwargs={"uuid": absence.uuid})
    assert client.get(url).status_code == 200
    r = client.post(url, {"back_at": _local(fx.ago(minutes=10)), "back": "out_now"})
    assert r.status_code == 302 and r["Location"] == reverse("inmates:out_now")
    absence.refresh_from_db()
    assert absence.back_at is not None
    assert "CHU Mohammed VI" not in client.get(reverse("inmates:out_now")).content.decode()


def test_absence_return_scoped(client, mv):
    w = mv
    absence = _absence(w)
    url = reverse("inmates:absence_return", kwargs={"uuid": absence.uuid})
    assert _login(client, w, "registry.sale2").get(url).status_code == 404
    assert _login(client, w, "viewer.oujda2").get(url).status_code == 403
    before = fx.state()
    assert client.post(url, {"back_at": _local(fx.ago(minutes=5))}).status_code == 403
    assert fx.state() == before


def test_out_now_query_count(client, mv, django_assert_max_num_queries):
    w = mv
    _absence(w)
    client = _login(client, w, "registry.oujda2")
    url = reverse("inmates:out_now")
    with django_assert_max_num_queries(20) as few:
        assert client.get(url).status_code == 200
    baseline = len(few.captured_queries)
    for _ in range(6):
        other = CustodyPeriodFactory(facility=w["a"], committed_at=fx.ago(days=4))
        _absence(w, custody=other)
    with django_assert_max_num_queries(baseline):
        html = client.get(url).content.decode()
    assert html.count("/return/") == 7


# -- movement history ------------------------------------------------------------------------
def test_movement_history_both_directions(client, mv):
    w = mv
    new = _transfer(w, at=fx.ago(hours=5))
    incoming = CustodyPeriodFactory(facility=w["b"], committed_at=fx.ago(days=4))
    _transfer(w, custody=incoming, to=w["a"], at=fx.ago(hours=4), who="registry.sale2")
    client = _login(client, w, "registry.sale2")
    html = client.get(reverse("inmates:movements"), {"facility": "SALE2"}).content.decode()
    assert html.count("<tr>") == 3  # header + one out, one in
    # links go to the file this user may open
    assert _url("detail", new) in html and _url("detail", w["custody"]) not in html
    html = client.get(reverse("inmates:movements"), {"facility": "SALE2"}, **HTMX).content.decode()
    assert "<html" not in html and html.count("<tr>") == 3
    # a facility out of scope is not a choice
    r = client.get(reverse("inmates:movements"), {"facility": "CLOSED1"})
    assert r.status_code == 200 and "CLOSED1" not in r.content.decode().split("<tbody>")[1]


def test_movement_history_query_count(client, mv, django_assert_max_num_queries):
    w = mv
    _transfer(w)
    client = _login(client, w, "registry.oujda2")
    url = reverse("inmates:movements")
    with django_assert_max_num_queries(20) as few:
        assert client.get(url).status_code == 200
    baseline = len(few.captured_queries)
    for i in range(6):
        c = CustodyPeriodFactory(facility=w["a"], committed_at=fx.ago(days=4))
        if i % 2:
            _transfer(w, custody=c)
        else:
            _absence(w, custody=c)
    with django_assert_max_num_queries(baseline):
        html = client.get(url).content.decode()
    assert html.count("<tr>") == 8


# -- release ---------------------------------------------------------------------------------
def test_release_page_checklist_and_certificate(client, mv):
    w = mv
    client = _login(client, w, "registry.oujda2")
    html = client.get(_url("release", w["custody"])).content.decode()
    assert 'name="checklist" value="identity_verified"' in html
    assert "Montre" in html and "Portefeuille" in html
    data = {
        "reason": "acquittal",
        "at": _local(fx.ago(hours=1)),
        "authority": "TPI Oujda",
        "decision_reference": "JUG-2026-55",
        "checklist": ["identity_verified", "order_checked"],
    }
    before = fx.state()
    r = client.post(_url("release", w["custody"]), data)
    assert r.status_code == 400 and 'role="alert"' in r.content.decode()
    assert fx.state() == before
    data["checklist"] = fx.ALL_TICKED
    r = client.post(_url("release", w["custody"]), data)
    assert r.status_code == 302
    record = ReleaseRecord.objects.get()
    html = client.get(_url("detail", w["custody"])).content.decode()
    assert record.certificate_number in html
    assert f"{_url('release_certificate', w['custody'])}?lang=ar" in html
    assert f"{_url('release_certificate', w['custody'])}?lang=fr" in html


def test_release_certificate_pdf_scoped(client, mv):
    w = mv
    url = _url("release_certificate", w["custody"])
    client = _login(client, w, "viewer.oujda2")
    assert client.get(url).status_code == 404  # not released yet
    _release(w)
    for lang in ("ar", "fr"):
        r = client.get(url, {"lang": lang})
        assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
        assert r.content.startswith(b"%PDF")
        assert f"-{lang}.pdf" in r["Content-Disposition"]
    assert _login(client, w, "registry.sale2").get(url).status_code == 404


# -- escape and death ------------------------------------------------------------------------
def _incident_form(**overrides):
    data = {
        "occurred_at": _local(fx.ago(hours=2)),
        "place": "Cour de promenade",
        "circumstances": "Escalade du mur d'enceinte.",
        "authority_notified": "Procureur du Roi, TPI Oujda",
        "authority_notified_at": _local(fx.ago(hours=1)),
    }
    data.update(overrides)
    return data


def test_escape_has_a_confirmation_step(client, mv):
    w = mv
    client = _login(client, w, "director.oujda2")
    assert client.get(_url("escape", w["custody"])).status_code == 200
    before = fx.state()
    r = client.post(_url("escape", w["custody"]), _incident_form())
    html = r.content.decode()
    assert r.status_code == 200 and 'name="confirmed" value="1"' in html
    assert "Escalade du mur" in html
    assert fx.state() == before  # nothing recorded yet
    r = client.post(_url("escape", w["custody"]), _incident_form(confirmed="1"))
    assert r.status_code == 302
    assert fx.fresh(w["custody"]).status == CustodyStatus.ESCAPED
    assert CustodyIncident.objects.get().kind == "escape"
    html = client.get(_url("detail", w["custody"])).content.decode()
    assert "Escalade du mur" in html


def test_death_form_confirmed(client, mv):
    w = mv
    client = _login(client, w, "director.oujda2")
    data = _incident_form(
        place="Infirmerie",
        circumstances="Trouvé inconscient.",
        cause="Arrêt cardiaque apparent",
        investigation_reference="ENQ-12",
        autopsy_requested="on",
        family_notified_at=_local(fx.ago(minutes=30)),
    )
    r = client.post(_url("death", w["custody"]), data)
    assert r.status_code == 200 and 'name="confirmed" value="1"' in r.content.decode()
    # the confirmation page resubmits what it shows
    data["confirmed"] = "1"
    data["autopsy_requested"] = "True"
    r = client.post(_url("death", w["custody"]), data)
    assert r.status_code == 302
    incident = CustodyIncident.objects.get()
    assert incident.kind == "death" and incident.autopsy_requested
    assert fx.fresh(w["custody"]).status == CustodyStatus.DECEASED


def test_incident_without_the_authority_is_refused_on_the_form(client, mv):
    w = mv
    client = _login(client, w, "director.oujda2")
    before = fx.state()
    r = client.post(
        _url("escape", w["custody"]), _incident_form(authority_notified="", confirmed="1")
    )
    assert r.status_code == 400
    assert fx.state() == before
    r = client.post(
        _url("escape", w["custody"]),
        _incident_form(authority_notified_at=_local(fx.ago(hours=3)), confirmed="1"),
    )
    assert r.status_code == 400 and fx.state() == before


@pytest.mark.parametrize("name", ["escape", "death"])
def test_incident_pages_refused(client, mv, name):
    w = mv
    assert _login(client, w, "registry.oujda2").get(_url(name, w["custody"])).status_code == 403
    assert _login(client, w, "director.sale2").get(_url(name, w["custody"])).status_code == 404
    before = fx.state()
    r = client.post(_url(name, w["custody"]), _incident_form(confirmed="1"))
    assert r.status_code == 404
    assert fx.state() == before


def test_every_page_of_another_institution_is_404(client, mv):
    w = mv
    absence = _absence(w)
    client = _login(client, w, "director.sale2")
    urls = [
        _url(n, w["custody"])
        for n in ("transfer", "absence_start", "release", "release_certificate", "escape", "death")
    ]
    urls.append(reverse("inmates:absence_return", kwargs={"uuid": absence.uuid}))
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert AuditEntry.objects.filter(chain=w["b"].pk).count() == 0


def test_section_query_count_does_not_grow(client, mv, django_assert_max_num_queries):
    w = mv
    custody = w["custody"]
    absence = _absence(w, out_at=fx.ago(days=5), expected_back_at=None)
    from idmaj.inmates.services import temporary_absence_end

    temporary_absence_end(
        actor=fx.user(w, "registry.oujda2"),
        movement=absence,
        back_at=fx.ago(days=5) + dt.timedelta(hours=2),
    )
    client = _login(client, w, "registry.oujda2")
    with django_assert_max_num_queries(80) as few:
        assert client.get(_url("detail", custody)).status_code == 200
    baseline = len(few.captured_queries)
    for days in (4, 3, 2):
        m = _absence(w, out_at=fx.ago(days=days), expected_back_at=None)
        temporary_absence_end(
            actor=fx.user(w, "registry.oujda2"),
            movement=m,
            back_at=fx.ago(days=days) + dt.timedelta(hours=1),
        )
    with django_assert_max_num_queries(baseline):
        html = client.get(_url("detail", custody)).content.decode()
    assert html.count("Cour d&#x27;appel d&#x27;Oujda") == 4
