"""Pages of the core domain: home in Arabic and French, sign-in form, audit trail, API errors."""

from __future__ import annotations

import pytest
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext

from idmaj.core import audit
from idmaj.core.demo import FACILITY_ROLES, NATIONAL_ACCOUNTS
from idmaj.core.models import AuditEntry
from idmaj.core.tests.factories import PASSWORD
from idmaj.facilities.tests.factories import FacilityFactory

pytestmark = pytest.mark.django_db

DEMO_ROLES = [role for _p, role, *_rest in NATIONAL_ACCOUNTS] + [r for _p, r in FACILITY_ROLES]


# -- home and language -------------------------------------------------------------------------
@pytest.mark.parametrize("role", DEMO_ROLES)
def test_home_renders_for_every_demo_role_in_arabic_then_french(client, make_user, role):
    facility = FacilityFactory(code="OUJDA2")
    national = role in {r for _p, r, *_ in NATIONAL_ACCOUNTS}
    user = make_user(f"u.{role}", role, facility=None if national else facility)
    client.force_login(user)
    r = client.get("/")
    assert r.status_code == 200
    body = r.content.decode()
    assert '<html lang="ar" dir="rtl">' in body
    r = client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    assert r.status_code == 302 and r["Location"] == "/"
    assert client.cookies["idmaj_language"].value == "fr"
    user.refresh_from_db()
    assert user.preferred_language == "fr"
    r = client.get("/")
    assert r.status_code == 200
    assert '<html lang="fr" dir="ltr">' in r.content.decode()


def test_language_is_remembered_at_next_sign_in(client, make_user):
    make_user("registry.a", "registry_officer")
    client.post("/accounts/login/", {"username": "registry.a", "password": PASSWORD})
    client.post("/i18n/setlang/", {"language": "fr"})
    client.post("/accounts/logout/")
    client.cookies.clear()  # another browser
    client.post("/accounts/login/", {"username": "registry.a", "password": PASSWORD})
    assert client.cookies["idmaj_language"].value == "fr"
    assert '<html lang="fr" dir="ltr">' in client.get("/").content.decode()


def test_setlang_refuses_unknown_language_and_foreign_next(client, make_user):
    user = make_user("registry.a", "registry_officer")
    client.force_login(user)
    r = client.post("/i18n/setlang/", {"language": "xx", "next": "https://evil.example/"})
    assert r.status_code == 302 and r["Location"] == "/"
    assert "idmaj_language" not in r.cookies
    user.refresh_from_db()
    assert user.preferred_language == "ar"


def test_anonymous_is_sent_to_login(client):
    for path in ("/", "/audit/", "/admin-tools/lockouts/"):
        r = client.get(path)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/?next="), path


def test_login_errors_are_translated_and_username_kept(client, make_user, no_lockouts):
    make_user("registry.a", "registry_officer")
    client.cookies["idmaj_language"] = "fr"
    r = client.post("/accounts/login/", {"username": "registry.typed", "password": ""})
    body = r.content.decode()
    assert r.status_code == 200
    assert 'value="registry.typed"' in body
    with translation.override("fr"):
        required = gettext("This field is required.")
    assert required != "This field is required."  # Django ships the French catalogue
    # the error sits inside the password field's block
    field_block = body.split('for="id_password"')[1].split("</div>")[0]
    assert escape(required) in field_block
    r = client.post("/accounts/login/", {"username": "registry.a", "password": "wrong-one"})
    body = r.content.decode()
    with translation.override("fr"):
        assert escape(gettext("Wrong user name or password.")) in body
    assert 'value="registry.a"' in body


# -- API error format --------------------------------------------------------------------------
@pytest.mark.urls("idmaj.core.tests.urls_for_tests")
@pytest.mark.parametrize(
    "kind,status,expected",
    [
        ("domain", 400, {"code": "bad_value", "detail": "The value is wrong.", "field": "beds"}),
        ("domain-nofield", 400, {"code": "bad_state", "detail": "Not now."}),
        ("conflict", 409, {"code": "full", "detail": "No place left."}),
    ],
)
def test_domain_errors_become_json(client, make_user, kind, status, expected):
    client.force_login(make_user("registry.a", "registry_officer"))
    r = client.get(f"/api/v1/test/fail/{kind}/")
    assert r.status_code == status
    assert r.json() == expected


@pytest.mark.urls("idmaj.core.tests.urls_for_tests")
def test_not_found_becomes_json(client, make_user):
    client.force_login(make_user("registry.a", "registry_officer"))
    r = client.get("/api/v1/test/fail/missing/")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"


# -- audit trail page --------------------------------------------------------------------------
@pytest.fixture
def trail(db, make_user):
    a = FacilityFactory(code="OUJDA2")
    b = FacilityFactory(code="SALE2")
    clerk_a = make_user("clerk.a", "registry_officer", facility=a)
    clerk_b = make_user("clerk.b", "registry_officer", facility=b)
    for i in range(3):
        audit.record(
            actor=clerk_a,
            action="update",
            object_type="inmates.inmate",
            object_id=f"a-{i}",
            facility_id=a.pk,
            before={"cell": i},
            after={"cell": i + 1},
        )
    audit.record(
        actor=clerk_b,
        action="create",
        object_type="facilities.cell",
        object_id="b-1",
        facility_id=b.pk,
    )
    return {"a": a, "b": b}


def _rows(response) -> int:
    """Entries listed (the header row and the "no entries" row are not entries)."""
    body = response.content.decode()
    return body.count("<tr>") - 1 - body.count('<td colspan="7">')


@pytest.mark.parametrize(
    "role,status",
    [("auditor", 200), ("system_admin", 200), ("central_admin", 404), ("registry_officer", 404)],
)
def test_audit_page_only_for_audit_view(client, make_user, trail, role, status):
    client.force_login(make_user(f"u.{role}", role))
    assert client.get("/audit/").status_code == status


def test_audit_filters(client, make_user, trail):
    client.force_login(make_user("inspector", "auditor"))
    r = client.get("/audit/", {"actor": "clerk.a"})
    assert _rows(r) == 3 and "clerk.b" not in r.content.decode()
    assert _rows(client.get("/audit/", {"facility": "sale2"})) == 1
    assert _rows(client.get("/audit/", {"facility": "NOPE"})) == 0
    assert _rows(client.get("/audit/", {"object_type": "inmates.inmate"})) == 3
    assert _rows(client.get("/audit/", {"object_type": "inmates.inmate", "object_id": "a-1"})) == 1
    today = timezone.localdate().isoformat()
    assert _rows(client.get("/audit/", {"facility": "OUJDA2", "date_from": today})) == 3
    assert _rows(client.get("/audit/", {"date_from": "2001-01-01", "date_to": "2001-12-31"})) == 0


def test_audit_htmx_returns_rows_only(client, make_user, trail):
    client.force_login(make_user("inspector", "auditor"))
    r = client.get("/audit/", {"actor": "clerk.a"}, HTTP_HX_REQUEST="true")
    body = r.content.decode()
    assert r.status_code == 200
    assert "<html" not in body and "<form" not in body
    assert _rows(r) == 3


def test_auditor_of_one_institution_sees_only_it(client, make_user, trail):
    client.force_login(make_user("inspector.a", "auditor", facility=trail["a"]))
    r = client.get("/audit/")
    assert _rows(r) == 3
    assert "clerk.b" not in r.content.decode()
    assert _rows(client.get("/audit/", {"facility": "SALE2"})) == 0


def test_audit_page_query_count_does_not_grow(client, make_user, trail, django_assert_num_queries):
    client.force_login(make_user("inspector", "auditor"))
    client.get("/audit/")  # warm-up: session, caches
    # session, user, role assignments, their permissions, count, page, institution codes,
    # and the session saved again (savepoint, update, release): none of them per row
    with django_assert_num_queries(10):
        r = client.get("/audit/")
    assert _rows(r) == 4 + 1  # the trail, plus the sign-in of the inspector
    for i in range(30):
        audit.record(
            actor=None,
            action="update",
            object_type="x",
            object_id=str(i),
            facility_id=trail["a"].pk if i % 2 else trail["b"].pk,
        )
    with django_assert_num_queries(10):
        r = client.get("/audit/")
    assert _rows(r) == 35


def test_sensitive_read_is_recorded(make_user):
    doctor = make_user("doctor.a", "physician")
    before = AuditEntry.objects.count()
    entry = audit.record_read(actor=doctor, obj=doctor, facility_id=None, verb="medical file")
    assert AuditEntry.objects.count() == before + 1
    assert entry.action == AuditEntry.Action.READ and entry.actor_id == doctor.pk
    assert entry.verb == "medical file"


def test_pct_filter_shows_a_dash_when_there_is_no_figure():
    from idmaj.core.templatetags.idmaj import pct

    assert pct(0.825) == "82.5%"
    assert pct(1.2, 0) == "120%"
    assert pct(None) == "—"
    assert pct("") == "—"


def test_navigation_marks_one_current_entry(client, make_user):
    user = make_user("central.nav", "central_admin")
    client.force_login(user)
    page = client.get("/facilities/projects/").content.decode()
    assert page.count('aria-current="page"') == 1
    assert 'href="/facilities/projects/" aria-current="page"' in page
