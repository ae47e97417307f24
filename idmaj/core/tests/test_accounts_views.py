"""Staff account pages and selectors: 403 for non-administrators, 404 outside the scope,
filters, query counts, forms in Arabic and French, and each action end to end."""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.http import Http404
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext
from django_otp.plugins.otp_totp.models import TOTPDevice

from idmaj.core import selectors, services
from idmaj.core.errors import PermissionDenied
from idmaj.core.models import AuditEntry, User
from idmaj.core.tests.factories import PASSWORD, UserFactory, grant

pytestmark = pytest.mark.django_db

BASE = "/admin-tools/accounts/"
NEW_PASSWORD = "a-long-enough-password-9"


@pytest.fixture
def world(two_facilities, make_user):
    a, r2 = two_facilities["a"], two_facilities["r2"]
    return {
        **two_facilities,
        "admin": make_user("root", "system_admin"),
        "admin_a": make_user("admin.a", "system_admin", facility=a),
        "admin_r2": make_user("admin.r2", "system_admin", region=r2),
        "clerk_a": two_facilities["users"]["registry.oujda2"],
        "clerk_b": two_facilities["users"]["registry.sale2"],
    }


def _pages(username: str, assignment) -> list[str]:
    u = f"{BASE}{username}/"
    return [
        BASE,
        f"{BASE}new/",
        u,
        f"{u}edit/",
        f"{u}roles/",
        f"{u}roles/{assignment}/revoke/",
        f"{u}deactivate/",
        f"{u}reactivate/",
        f"{u}password-reset/",
        f"{u}otp-reset/",
    ]


def _t(lang: str, text: str) -> str:
    with translation.override(lang):
        return escape(gettext(text))


# -- who may open the pages --------------------------------------------------------------------
@pytest.mark.parametrize("who", ["clerk_a", "director", "auditor", "central"])
def test_every_page_is_403_for_non_administrators(client, world, make_user, who):
    users = {
        "clerk_a": world["clerk_a"],
        "director": world["users"]["director.oujda2"],
        "auditor": make_user("inspector", "auditor"),
        "central": make_user("central", "central_admin"),
    }
    client.force_login(users[who])
    target = world["clerk_b"]
    before = (User.objects.count(), AuditEntry.objects.count(), target.assignments.count())
    for path in _pages(target.username, target.assignments.get().uuid):
        assert client.get(path).status_code == 403, path
        r = client.post(path, {"reason": "x", "role": "nurse", "level": "national"})
        assert r.status_code == 403, path
    # also for an account that does not exist: the answer says nothing about it
    for path in _pages("nobody-at-all", "00000000-0000-0000-0000-000000000000"):
        assert client.get(path).status_code == 403, path
    target.refresh_from_db()
    assert target.is_active
    assert before == (User.objects.count(), AuditEntry.objects.count(), target.assignments.count())


def test_anonymous_is_sent_to_sign_in(client, world):
    target = world["clerk_b"]
    for path in _pages(target.username, target.assignments.get().uuid) + ["/accounts/password/"]:
        r = client.get(path)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/"), path


def test_a_scoped_administrator_gets_404_outside_the_scope(client, world):
    client.force_login(world["admin_a"])
    target = world["clerk_b"]
    for path in _pages(target.username, target.assignments.get().uuid)[2:]:
        assert client.get(path).status_code == 404, path
        assert client.post(path, {"reason": "x"}).status_code == 404, path
    assert User.objects.get(pk=target.pk).is_active
    # missing and out of scope answer alike
    assert client.get(f"{BASE}nobody-at-all/").status_code == 404
    assert client.get(f"{BASE}{world['clerk_a'].username}/").status_code == 200


def test_navigation_entry_only_for_administrators(client, world):
    client.force_login(world["clerk_a"])
    assert f'href="{BASE}"' not in client.get("/").content.decode()
    client.force_login(world["admin_a"])
    page = client.get(BASE).content.decode()
    assert f'href="{BASE}" aria-current="page"' in page


# -- selectors ---------------------------------------------------------------------------------
def test_user_list_filters(world):
    admin, a, b, r2 = world["admin"], world["a"], world["b"], world["r2"]
    nurse = UserFactory(username="nurse.b", first_name="Salma", full_name_ar="سلمى")
    grant(nurse, "nurse", facility=b)
    regional = UserFactory(username="regional.r2", email="boss@example.org")
    grant(regional, "regional_director", region=r2)
    services.user_deactivate(actor=admin, user=world["clerk_b"], reason="left")

    def names(**kw):
        return [u.username for u in selectors.user_list(fetched_by=admin, **kw)]

    assert names(q="salma") == ["nurse.b"] == names(q="سلمى")
    assert names(q="BOSS@") == ["regional.r2"]
    assert names(role="nurse") == ["nurse.b"]
    assert names(facility=b) == ["director.sale2", "nurse.b", "registry.sale2"]
    assert names(facility=b, role="nurse") == ["nurse.b"]
    assert names(region=r2) == ["admin.r2", "director.sale2", "nurse.b", "regional.r2",
                                "registry.sale2"]  # fmt: skip
    assert names(facility=a, role="nurse") == []
    assert "registry.sale2" not in names(active=True)
    assert names(active=False) == ["registry.sale2"]
    assert len(names()) == User.objects.count()


def test_user_list_scope(world):
    got = {u.username for u in selectors.user_list(fetched_by=world["admin_a"])}
    assert got == {"admin.a", "director.oujda2", "registry.oujda2"}
    loner = UserFactory(username="loner")  # no role at all: within every scope
    got_r2 = {u.username for u in selectors.user_list(fetched_by=world["admin_r2"])}
    assert got_r2 == {"admin.r2", "director.sale2", "registry.sale2", loner.username}
    with pytest.raises(PermissionDenied):
        selectors.user_list(fetched_by=world["clerk_a"])


def test_get_user_for_admin_or_404(world):
    assert (
        selectors.get_user_for_admin_or_404(fetched_by=world["admin_a"], username="registry.oujda2")
        == world["clerk_a"]
    )
    for name in ("registry.sale2", "root", "missing"):
        with pytest.raises(Http404):
            selectors.get_user_for_admin_or_404(fetched_by=world["admin_a"], username=name)
    with pytest.raises(PermissionDenied):
        selectors.get_user_for_admin_or_404(fetched_by=world["clerk_a"], username="missing")


def test_list_page_query_count_does_not_grow(client, world, django_assert_num_queries):
    client.force_login(world["admin"])
    client.get(BASE)  # warm-up
    # session, user, role assignments, their permissions; the filter's roles, directorates
    # and institutions; count, page, the page's role assignments; the session saved again
    # (savepoint, update, release)
    with django_assert_num_queries(13):
        r = client.get(BASE)
    assert r.content.decode().count("<tr>") == 1 + User.objects.count()
    for i in range(25):
        u = UserFactory(username=f"staff{i:02d}")
        grant(u, "nurse", facility=world["a"] if i % 2 else world["b"])
        grant(u, "visits_officer", region=world["r1"])
    with django_assert_num_queries(13):
        r = client.get(BASE)
    assert r.content.decode().count("<tr>") == 1 + User.objects.count()


def test_list_page_for_a_scoped_administrator_query_count(client, world, django_assert_num_queries):
    client.force_login(world["admin_r2"])
    client.get(BASE)
    # as above, plus the institutions of the administrator's directorate (read once)
    with django_assert_num_queries(14):
        r = client.get(BASE, {"role": "registry_officer"})
    body = r.content.decode()
    assert "registry.sale2" in body and "registry.oujda2" not in body


# -- the list page -----------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_list_page_in_both_languages_with_filters(client, world, lang):
    client.cookies["idmaj_language"] = lang
    client.force_login(world["admin"])
    r = client.get(BASE, {"facility": "SALE2"})
    body = r.content.decode()
    assert r.status_code == 200
    assert 'dir="rtl"' in body if lang == "ar" else 'dir="ltr"' in body
    assert _t(lang, "Staff accounts") in body
    assert _t(lang, "Registry officer") in body
    assert "registry.sale2" in body and "registry.oujda2" not in body
    r = client.get(BASE, {"q": "oujda", "active": "yes"}, HTTP_HX_REQUEST="true")
    body = r.content.decode()
    assert "<html" not in body and "registry.oujda2" in body and "sale2" not in body


# -- create ------------------------------------------------------------------------------------
def test_create_page(client, world):
    client.force_login(world["admin_a"])
    assert client.get(f"{BASE}new/").status_code == 200
    data = {
        "username": "nurse.new",
        "first_name": "Nadia",
        "last_name": "Alaoui",
        "full_name_ar": "نادية العلوي",
        "email": "nadia@example.org",
        "phone": "",
        "preferred_language": "fr",
        "password": NEW_PASSWORD,
        "password_again": NEW_PASSWORD,
    }
    r = client.post(f"{BASE}new/", data)
    assert r.status_code == 302 and r["Location"] == f"{BASE}nurse.new/"
    user = User.objects.get(username="nurse.new")
    assert user.full_name_ar == "نادية العلوي" and user.check_password(NEW_PASSWORD)
    assert AuditEntry.objects.filter(object_id=str(user.uuid), actor_username="admin.a").exists()


@pytest.mark.parametrize("lang", ["ar", "fr"])
@pytest.mark.parametrize(
    "change,field,message",
    [
        (
            {"password": "password1234", "password_again": "password1234"},
            "password",
            "This password is too common.",
        ),
        (
            {"password_again": "something-else-entirely"},
            "password_again",
            "The two passwords differ.",
        ),
        ({"username": "registry.sale2"}, "username", "This user name is already taken."),
        ({"email": "nope"}, "email", "Enter a valid email address."),
    ],
)
def test_create_page_errors_stay_next_to_the_field(client, world, lang, change, field, message):
    client.cookies["idmaj_language"] = lang
    client.force_login(world["admin"])
    users = User.objects.count()
    data = {
        "username": "typed.name",
        "full_name_ar": "اسم",
        "preferred_language": "ar",
        "password": NEW_PASSWORD,
        "password_again": NEW_PASSWORD,
        **change,
    }
    r = client.post(f"{BASE}new/", data)
    assert r.status_code == 400
    body = r.content.decode()
    block = body.split(f'for="id_{field}"')[1].split("</div>")[0]
    assert _t(lang, message) in block
    assert 'value="اسم"' in body  # what was typed is kept
    assert User.objects.count() == users


# -- detail, edit, roles -----------------------------------------------------------------------
def test_detail_shows_roles_second_factor_and_lockout(client, world):
    clerk = world["clerk_a"]
    TOTPDevice.objects.create(user=clerk, name="phone", confirmed=True)
    AccessAttempt.objects.create(
        username=clerk.username,
        ip_address="10.0.0.9",
        user_agent="x",
        failures_since_start=5,
        attempt_time=timezone.now(),
        get_data="",
        post_data="",
        http_accept="",
        path_info="/accounts/login/",
    )
    client.cookies["idmaj_language"] = "fr"
    client.force_login(world["admin"])
    r = client.get(f"{BASE}{clerk.username}/")
    body = r.content.decode()
    assert r.status_code == 200
    assert _t("fr", "Registry officer") in body and "OUJDA2" in body
    with translation.override("fr"):
        assert gettext("authenticator registered") in body
    assert _t("fr", "locked out now") in body and "10.0.0.9" in body
    assert 'href="/admin-tools/lockouts/"' in body
    assert f"{BASE}{clerk.username}/otp-reset/" in body


def test_edit_page(client, world):
    clerk = world["clerk_a"]
    client.force_login(world["admin_a"])
    r = client.get(f"{BASE}{clerk.username}/edit/")
    assert r.status_code == 200
    data = {
        "first_name": "Karim",
        "last_name": "",
        "full_name_ar": "كريم",
        "email": "karim@example.org",
        "phone": "0612345678",
        "preferred_language": "fr",
    }
    r = client.post(f"{BASE}{clerk.username}/edit/", data)
    assert r.status_code == 302
    clerk.refresh_from_db()
    assert (clerk.first_name, clerk.preferred_language) == ("Karim", "fr")
    r = client.post(f"{BASE}{clerk.username}/edit/", {**data, "email": "bad"})
    assert r.status_code == 400
    assert User.objects.get(pk=clerk.pk).email == "karim@example.org"


def test_assign_and_revoke_a_role_through_the_pages(client, world):
    clerk = world["clerk_a"]
    client.force_login(world["admin_r2"])
    newcomer = services.user_create(actor=None, username="newcomer", password=NEW_PASSWORD)
    url = f"{BASE}{newcomer.username}/roles/"
    # a region administrator is not offered, and cannot give, a national role
    page = client.get(f"{BASE}{newcomer.username}/").content.decode()
    assert 'value="national"' not in page
    r = client.post(url, {"role": "nurse", "level": "national"})
    assert r.status_code == 400 and not newcomer.assignments.exists()
    # an institution of another directorate is not a choice
    r = client.post(url, {"role": "nurse", "level": "facility", "facility": "OUJDA2"})
    assert r.status_code == 400 and not newcomer.assignments.exists()
    # the institution is missing: the error is on that field
    r = client.post(url, {"role": "nurse", "level": "facility"})
    assert r.status_code == 400
    facility_field = r.content.decode().split('id="id_facility"')[1].split("</label>")[0]
    assert _t("ar", "An institution is required for this scope.") in facility_field
    r = client.post(url, {"role": "nurse", "level": "facility", "facility": "SALE2"})
    assert r.status_code == 302
    held = newcomer.assignments.get()
    assert held.facility == world["b"]
    r = client.post(url, {"role": "nurse", "level": "facility", "facility": "SALE2"})
    assert r.status_code == 302 and newcomer.assignments.count() == 1
    revoke = f"{BASE}{newcomer.username}/roles/{held.uuid}/revoke/"
    assert client.get(revoke).status_code == 200
    assert newcomer.assignments.exists()  # showing the confirmation changes nothing
    assert client.post(revoke).status_code == 302
    assert not newcomer.assignments.exists()
    # an assignment of another account is not found under this one
    other = clerk.assignments.get()
    assert client.get(f"{BASE}{newcomer.username}/roles/{other.uuid}/revoke/").status_code == 404


def test_deactivate_and_reactivate_pages(client, world):
    clerk = world["clerk_a"]
    client.force_login(world["admin"])
    url = f"{BASE}{clerk.username}/deactivate/"
    assert client.get(url).status_code == 200
    r = client.post(url, {"reason": ""})
    assert r.status_code == 400 and User.objects.get(pk=clerk.pk).is_active
    r = client.post(url, {"reason": "transferred to another administration"})
    assert r.status_code == 302 and not User.objects.get(pk=clerk.pk).is_active
    r = client.post(f"{BASE}{clerk.username}/reactivate/")
    assert r.status_code == 302 and User.objects.get(pk=clerk.pk).is_active


def test_own_account_offers_no_self_deactivation(client, world):
    client.force_login(world["admin"])
    page = client.get(f"{BASE}root/").content.decode()
    assert f"{BASE}root/deactivate/" not in page and "/accounts/password/" in page
    r = client.post(f"{BASE}root/deactivate/", {"reason": "tired"})
    assert r.status_code == 400
    assert _t("ar", "You cannot deactivate your own account.") in r.content.decode()
    assert User.objects.get(username="root").is_active


def test_password_reset_page_shows_the_password_once(client, world):
    clerk = world["clerk_a"]
    client.force_login(world["admin"])
    url = f"{BASE}{clerk.username}/password-reset/"
    assert client.get(url).status_code == 200
    assert User.objects.get(pk=clerk.pk).check_password(PASSWORD)  # nothing yet
    r = client.post(url)
    assert r.status_code == 200
    assert "no-store" in r["Cache-Control"]
    temporary = r.content.decode().split('id="temporary-password">')[1].split("<")[0]
    assert User.objects.get(pk=clerk.pk).check_password(temporary)
    # not shown again anywhere
    assert temporary not in client.get(f"{BASE}{clerk.username}/").content.decode()


def test_otp_reset_page(client, world):
    clerk = world["clerk_a"]
    TOTPDevice.objects.create(user=clerk, name="phone", confirmed=True)
    client.force_login(world["admin_a"])
    url = f"{BASE}{clerk.username}/otp-reset/"
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 302
    assert not TOTPDevice.objects.filter(user=clerk).exists()
    r = client.post(url)  # nothing left to remove: said on the page
    assert r.status_code == 400
    assert _t("ar", "This user has no second-factor device.") in r.content.decode()


def test_change_my_password_page(client, world):
    clerk = world["clerk_a"]
    client.force_login(clerk)
    assert 'href="/accounts/password/"' in client.get("/").content.decode()
    url = "/accounts/password/"
    assert client.get(url).status_code == 200
    r = client.post(
        url,
        {
            "old_password": "wrong-one",
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )
    assert r.status_code == 400
    assert _t("ar", "Your current password is not correct.") in r.content.decode()
    r = client.post(
        url,
        {
            "old_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )
    assert r.status_code == 302
    assert client.get("/").status_code == 200  # this session stays signed in
    assert User.objects.get(pk=clerk.pk).check_password(NEW_PASSWORD)


def test_lockout_state_ends_with_the_cool_off(world):
    def attempt(username, failures, minutes_ago):
        a = AccessAttempt.objects.create(
            username=username,
            ip_address="10.0.0.9",
            user_agent="x",
            failures_since_start=failures,
            get_data="",
            post_data="",
            http_accept="",
            path_info="/accounts/login/",
        )
        when = timezone.now() - dt.timedelta(minutes=minutes_ago)  # attempt_time is auto_now_add
        AccessAttempt.objects.filter(pk=a.pk).update(attempt_time=when)

    attempt("a", 5, 10)
    attempt("b", 5, 45)  # the 30 minutes are over
    attempt("c", 2, 1)
    state = {u: selectors.user_lockout_state(username=u) for u in "abcd"}
    assert [state[u]["locked"] for u in "abcd"] == [True, False, False, False]
    assert [len(state[u]["attempts"]) for u in "abcd"] == [1, 1, 1, 0]
