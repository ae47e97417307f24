"""The staff accounts API: 403 for non-administrators on every endpoint, 404 outside the
scope, each action, error format, query count of the list."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from idmaj.core.models import AuditEntry, RoleAssignment, User
from idmaj.core.tests.factories import PASSWORD, UserFactory, grant

pytestmark = pytest.mark.django_db

API = "/api/v1/accounts/users/"
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


def _auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.get_or_create(user=user)[0].key}"}


def _calls(username: str, assignment) -> list[tuple[str, str, dict]]:
    u = f"{API}{username}/"
    return [
        ("get", API, {}),
        ("post", API, {"username": "sneaky", "password": NEW_PASSWORD}),
        ("get", u, {}),
        ("patch", u, {"email": "x@example.org"}),
        ("post", f"{u}roles/", {"role": "system_admin", "level": "national"}),
        ("delete", f"{u}roles/{assignment}/", {}),
        ("post", f"{u}deactivate/", {"reason": "x"}),
        ("post", f"{u}reactivate/", {}),
        ("post", f"{u}password-reset/", {}),
        ("post", f"{u}otp-reset/", {}),
    ]


def _call(client, method, path, data, user):
    return getattr(client, method)(path, data, content_type="application/json", **_auth(user))


@pytest.mark.parametrize("who", ["clerk_a", "director", "auditor"])
def test_every_endpoint_is_403_for_non_administrators(client, world, make_user, who):
    user = {
        "clerk_a": world["clerk_a"],
        "director": world["users"]["director.oujda2"],
        "auditor": make_user("inspector", "auditor"),
    }[who]
    target = world["clerk_b"]
    TOTPDevice.objects.create(user=target, name="phone", confirmed=True)
    before = (
        User.objects.count(),
        AuditEntry.objects.count(),
        RoleAssignment.objects.count(),
        User.objects.get(pk=target.pk).password,
        TOTPDevice.objects.count(),
    )
    for name in (target.username, "nobody-at-all"):
        for method, path, data in _calls(name, target.assignments.get().uuid):
            r = _call(client, method, path, data, user)
            assert r.status_code == 403, (method, path)
            assert r.json()["code"] == "forbidden"
    assert before == (
        User.objects.count(),
        AuditEntry.objects.count(),
        RoleAssignment.objects.count(),
        User.objects.get(pk=target.pk).password,
        TOTPDevice.objects.count(),
    )


def test_anonymous_gets_401(client, world):
    for method, path, data in _calls("registry.sale2", "00000000-0000-0000-0000-000000000000"):
        r = getattr(client, method)(path, data, content_type="application/json")
        assert r.status_code == 401, path


def test_scoped_administrator_gets_404_outside_the_scope(client, world):
    target = world["clerk_b"]
    held = target.assignments.get()
    for method, path, data in _calls(target.username, held.uuid)[2:]:
        r = _call(client, method, path, data, world["admin_a"])
        assert r.status_code == 404, (method, path)
        assert r.json()["code"] == "not_found"
    assert User.objects.get(pk=target.pk).is_active
    assert RoleAssignment.objects.filter(pk=held.pk).exists()


def test_list_filters_and_query_count(client, world, django_assert_num_queries):
    auth = _auth(world["admin"])
    r = client.get(API, {"facility": "sale2"}, **auth)
    assert r.status_code == 200
    body = r.json()
    assert [u["username"] for u in body["results"]] == ["director.sale2", "registry.sale2"]
    assignment = body["results"][1]["assignments"][0]
    assert assignment["role"] == "registry_officer" and assignment["facility"] == "SALE2"
    assert assignment["level"] == "facility" and len(assignment["id"]) == 36
    r = client.get(API, {"region": "NOWHERE"}, **auth)
    assert r.status_code == 400 and r.json()["field"] == "region"
    r = client.get(API, {"active": "false"}, **auth)
    assert r.json()["count"] == 0
    # token with its user, role assignments, their permissions, count, page, its assignments
    with django_assert_num_queries(6):
        r = client.get(API, **auth)
    for i in range(30):
        u = UserFactory(username=f"staff{i:02d}")
        grant(u, "nurse", facility=world["a"])
        grant(u, "visits_officer", region=world["r2"])
    with django_assert_num_queries(6):
        r = client.get(API, **auth)
    assert r.json()["count"] == User.objects.count()
    assert all(len(u["assignments"]) == 2 for u in r.json()["results"] if "staff" in u["username"])


def test_create_get_and_patch(client, world):
    auth = _auth(world["admin_a"])
    r = client.post(
        API,
        {
            "username": "nurse.new",
            "password": NEW_PASSWORD,
            "full_name_ar": "نادية",
            "preferred_language": "fr",
        },
        content_type="application/json",
        **auth,
    )
    assert r.status_code == 201, r.json()
    assert r.json()["username"] == "nurse.new" and r.json()["assignments"] == []
    assert "password" not in r.json()
    r = client.patch(
        f"{API}nurse.new/", {"email": "nadia@example.org"}, content_type="application/json", **auth
    )
    assert r.status_code == 200 and r.json()["email"] == "nadia@example.org"
    assert client.get(f"{API}nurse.new/", **auth).json()["full_name_ar"] == "نادية"
    r = client.patch(f"{API}nurse.new/", {"email": "bad"}, content_type="application/json", **auth)
    assert r.status_code == 400 and r.json()["field"] == "email"
    assert User.objects.get(username="nurse.new").email == "nadia@example.org"


@pytest.mark.parametrize(
    "data,field,code",
    [
        ({"username": "x.y", "password": "password1234"}, "password", "weak_password"),
        ({"username": "registry.sale2", "password": NEW_PASSWORD}, "username", "username_taken"),
        ({"username": "x.y", "password": NEW_PASSWORD, "email": "no"}, "email", "invalid"),
    ],
)
def test_create_errors(client, world, data, field, code):
    users = User.objects.count()
    r = client.post(API, data, content_type="application/json", **_auth(world["admin"]))
    assert r.status_code == 400
    assert r.json()["field"] == field and r.json()["code"] == code
    assert User.objects.count() == users


def test_roles_assign_and_revoke(client, world):
    auth = _auth(world["admin_r2"])
    url = f"{API}registry.sale2/roles/"
    r = client.post(url, {"role": "nurse", "level": "facility", "facility": "SALE2"}, content_type="application/json", **auth)  # fmt: skip
    assert r.status_code == 201
    held = next(a for a in r.json()["assignments"] if a["role"] == "nurse")
    r = client.post(url, {"role": "nurse", "level": "facility", "facility": "SALE2"}, content_type="application/json", **auth)  # fmt: skip
    assert r.status_code == 200
    r = client.post(url, {"role": "nurse", "level": "facility", "facility": "OUJDA2"}, content_type="application/json", **auth)  # fmt: skip
    assert r.status_code == 403
    r = client.post(url, {"role": "nurse", "level": "region"}, content_type="application/json", **auth)  # fmt: skip
    assert r.status_code == 400 and r.json() | {"detail": ""} == {
        "code": "scope_missing",
        "field": "region",
        "detail": "",
    }
    r = client.delete(f"{url}{held['id']}/", **auth)
    assert r.status_code == 204
    assert not RoleAssignment.objects.filter(uuid=held["id"]).exists()
    r = client.delete(f"{url}{held['id']}/", **auth)
    assert r.status_code == 404


def test_deactivated_user_cannot_use_the_api_any_more(client, world):
    clerk_auth = _auth(world["clerk_a"])
    assert client.get("/api/v1/facilities/", **clerk_auth).status_code == 200
    auth = _auth(world["admin"])
    url = f"{API}registry.oujda2/deactivate/"
    r = client.post(url, {}, content_type="application/json", **auth)
    assert r.status_code == 400 and r.json()["code"] == "reason_required"
    r = client.post(url, {"reason": "left"}, content_type="application/json", **auth)
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert client.get("/api/v1/facilities/", **clerk_auth).status_code == 401
    r = client.post(
        "/api/v1/auth/token/",
        {"username": "registry.oujda2", "password": PASSWORD},
        content_type="application/json",
    )
    assert r.status_code == 400
    r = client.post(url, {"reason": "again"}, content_type="application/json", **auth)
    assert r.status_code == 409 and r.json()["code"] == "already_inactive"
    r = client.post(f"{API}registry.oujda2/reactivate/", **auth)
    assert r.status_code == 200 and r.json()["is_active"] is True
    r = client.post(f"{API}root/deactivate/", {"reason": "x"}, content_type="application/json", **auth)  # fmt: skip
    assert r.status_code == 400 and r.json()["code"] == "own_account"


def test_password_and_otp_reset(client, world):
    auth = _auth(world["admin"])
    r = client.post(f"{API}registry.oujda2/password-reset/", **auth)
    assert r.status_code == 200 and r["Cache-Control"] == "no-store"
    temporary = r.json()["temporary_password"]
    assert User.objects.get(username="registry.oujda2").check_password(temporary)
    r = client.post(f"{API}registry.oujda2/otp-reset/", **auth)
    assert r.status_code == 409 and r.json()["code"] == "no_device"
    TOTPDevice.objects.create(user=world["clerk_a"], name="phone", confirmed=True)
    r = client.post(f"{API}registry.oujda2/otp-reset/", **auth)
    assert r.status_code == 200 and r.json() == {"devices_removed": 1}


def test_schema_lists_the_endpoints(client, world):
    r = client.get("/api/schema/", **_auth(world["admin"]))
    body = r.content.decode()
    for path in (
        "/api/v1/accounts/users/:",
        "/api/v1/accounts/users/{username}/:",
        "/api/v1/accounts/users/{username}/roles/{assignment}/:",
    ):
        assert path in body
