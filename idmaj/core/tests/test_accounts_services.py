"""Staff account services: success, refusals (nothing changed), scope of accounts.manage."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from idmaj.core import services
from idmaj.core.constants import ScopeLevel
from idmaj.core.errors import ConflictError, DomainError, PermissionDenied
from idmaj.core.models import AuditEntry, RoleAssignment, User
from idmaj.core.scoping import AccountScope, account_scope
from idmaj.core.tests.factories import PASSWORD, UserFactory, grant

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_lockouts")]

NEW_PASSWORD = "a-long-enough-password-9"


@pytest.fixture
def world(two_facilities, make_user):
    """A national administrator, an administrator of institution A, one of region 2, a
    registry officer (no accounts.manage) and staff at A and B."""
    a, r2 = two_facilities["a"], two_facilities["r2"]
    return {
        **two_facilities,
        "admin": make_user("root", "system_admin"),
        "admin_a": make_user("admin.a", "system_admin", facility=a),
        "admin_r2": make_user("admin.r2", "system_admin", region=r2),
        "clerk_a": two_facilities["users"]["registry.oujda2"],
        "clerk_b": two_facilities["users"]["registry.sale2"],
        "director_b": two_facilities["users"]["director.sale2"],
    }


def _state(user: User) -> tuple:
    """Everything about an account that a refused service must leave alone."""
    user = User.objects.get(pk=user.pk)
    return (
        user.first_name,
        user.last_name,
        user.full_name_ar,
        user.email,
        user.phone,
        user.preferred_language,
        user.is_active,
        user.password,
        sorted(user.assignments.values_list("pk", flat=True)),
        TOTPDevice.objects.filter(user=user).count(),
        Token.objects.filter(user=user).count(),
        AuditEntry.objects.count(),
    )


def _sign_in(client, username, password=PASSWORD):
    r = client.post("/accounts/login/", {"username": username, "password": password})
    return r.status_code == 302 and "_auth_user_id" in client.session


# -- who may manage whom -----------------------------------------------------------------------
def test_scopes(world):
    assert account_scope(world["admin"]).national
    assert account_scope(None).national  # the system itself
    assert account_scope(world["clerk_a"]) is None
    scope_a = account_scope(world["admin_a"])
    assert not scope_a.national and scope_a.facility_ids == {world["a"].pk}
    scope_r2 = account_scope(world["admin_r2"])
    assert scope_r2.region_ids == {world["r2"].pk} and world["b"].pk in scope_r2.facility_ids
    assert scope_a.manages(world["clerk_a"]) and not scope_a.manages(world["clerk_b"])
    assert scope_r2.manages(world["clerk_b"]) and not scope_r2.manages(world["clerk_a"])
    assert not scope_a.manages(world["admin"])  # national role: national administrators only
    assert not scope_r2.manages(world["admin_a"])


def test_superuser_without_roles_is_for_national_administrators_only(world):
    su = UserFactory(username="su", is_superuser=True)
    assert account_scope(world["admin"]).manages(su)
    assert not account_scope(world["admin_a"]).manages(su)
    assert su not in account_scope(world["admin_a"]).users(User.objects.all())


def test_a_user_with_one_foreign_role_is_out_of_scope(world):
    grant(world["clerk_a"], "nurse", facility=world["b"])
    assert not account_scope(world["admin_a"]).manages(world["clerk_a"])


LEVELS = st.sampled_from(["national", "r1", "r2", "a", "b"])


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(manager=st.lists(LEVELS, min_size=1, max_size=2), held=st.lists(LEVELS, max_size=3))
def test_queryset_and_single_answers_agree(two_facilities, manager, held):
    """``scope.users(qs)`` keeps exactly the users ``scope.manages`` says yes to, and that is
    the written rule: every assignment within the manager's places."""
    f = two_facilities
    places = {
        "national": {},
        "r1": {"region": f["r1"]},
        "r2": {"region": f["r2"]},
        "a": {"facility": f["a"]},
        "b": {"facility": f["b"]},
    }
    covers = {  # which of the target's assignment places each manager place covers
        "national": {"national", "r1", "r2", "a", "b"},
        "r1": {"r1", "a"},
        "r2": {"r2", "b"},
        "a": {"a"},
        "b": {"b"},
    }
    with transaction.atomic():  # each example leaves the database as it found it
        boss = UserFactory(username="boss")
        for p in set(manager):
            grant(boss, "system_admin", **places[p])
        target = UserFactory(username="target")
        for p in set(held):
            grant(target, "nurse", **places[p])
        scope = account_scope(boss)
        covered = set().union(*(covers[p] for p in manager))
        expected = all(p in covered for p in held)
        assert scope.manages(target) == expected
        in_qs = scope.users(User.objects.filter(pk=target.pk)).exists()
        assert in_qs == expected
        transaction.set_rollback(True)


# -- create ------------------------------------------------------------------------------------
def test_create_by_an_administrator_is_audited(world):
    user = services.user_create(
        actor=world["admin_a"],
        username="amina.b",
        password=NEW_PASSWORD,
        first_name="Amina",
        full_name_ar="أمينة",
        email="amina@example.org",
        phone="+212600000000",
        preferred_language="fr",
    )
    assert user.check_password(NEW_PASSWORD) and user.is_active
    assert not user.assignments.exists()
    entry = AuditEntry.objects.get(object_type="core.user", object_id=str(user.uuid))
    assert entry.actor_username == "admin.a" and entry.action == "create"
    assert entry.after["preferred_language"] == "fr" and entry.after["phone"] == "+212600000000"
    assert NEW_PASSWORD not in str(entry.after)


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"email": "not-an-address"}, "email"),
        ({"preferred_language": "xx"}, "preferred_language"),
        ({"username": "with space"}, "username"),
        ({"username": "registry.oujda2"}, "username"),
        ({"password": "password1234"}, "password"),
        ({"password": "short"}, "password"),
    ],
)
def test_create_refuses_bad_input_and_creates_nothing(world, kwargs, field):
    users, entries = User.objects.count(), AuditEntry.objects.count()
    data = {"username": "new.one", "password": NEW_PASSWORD, **kwargs}
    with pytest.raises(DomainError) as exc:
        services.user_create(actor=world["admin"], **data)
    assert exc.value.field == field
    assert (User.objects.count(), AuditEntry.objects.count()) == (users, entries)


def test_create_refused_without_accounts_manage(world):
    users, entries = User.objects.count(), AuditEntry.objects.count()
    with pytest.raises(PermissionDenied):
        services.user_create(actor=world["clerk_a"], username="sneaky", password=NEW_PASSWORD)
    assert (User.objects.count(), AuditEntry.objects.count()) == (users, entries)


def test_only_a_national_administrator_creates_a_superuser(world):
    with pytest.raises(PermissionDenied):
        services.user_create(
            actor=world["admin_a"], username="su", password=NEW_PASSWORD, is_superuser=True
        )
    assert not User.objects.filter(username="su").exists()
    su = services.user_create(
        actor=world["admin"], username="su", password=NEW_PASSWORD, is_superuser=True
    )
    assert su.is_superuser


# -- update ------------------------------------------------------------------------------------
def test_update_records_only_the_changed_fields(world):
    clerk = world["clerk_a"]
    clerk.email = "old@example.org"
    clerk.save()
    services.user_update(
        actor=world["admin_a"],
        user=clerk,
        changes={"email": "new@example.org", "first_name": clerk.first_name, "phone": "0611"},
    )
    clerk.refresh_from_db()
    assert clerk.email == "new@example.org" and clerk.phone == "0611"
    entry = AuditEntry.objects.filter(object_id=str(clerk.uuid)).latest("id")
    assert entry.action == "update" and entry.actor_username == "admin.a"
    assert entry.before == {"email": "old@example.org", "phone": ""}
    assert entry.after == {"email": "new@example.org", "phone": "0611"}


def test_update_without_change_records_nothing(world):
    entries = AuditEntry.objects.count()
    services.user_update(
        actor=world["admin"], user=world["clerk_a"], changes={"preferred_language": "ar"}
    )
    assert AuditEntry.objects.count() == entries


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"email": "nope"}, "email"),
        ({"preferred_language": "de"}, "preferred_language"),
        ({"phone": "0" * 30}, "phone"),
        ({"is_superuser": True}, "is_superuser"),
        ({"username": "renamed"}, "username"),
        ({"first_name": "Ok", "email": "bad"}, "email"),
    ],
)
def test_update_refuses_bad_input_and_changes_nothing(world, changes, field):
    before = _state(world["clerk_a"])
    with pytest.raises(DomainError) as exc:
        services.user_update(actor=world["admin"], user=world["clerk_a"], changes=changes)
    assert exc.value.field == field
    assert _state(world["clerk_a"]) == before
    assert not User.objects.get(pk=world["clerk_a"].pk).is_superuser


@pytest.mark.parametrize("actor", ["clerk_a", "admin_a", "director_b"])
def test_update_refused_outside_scope(world, actor):
    before = _state(world["clerk_b"])
    with pytest.raises(PermissionDenied):
        services.user_update(actor=world[actor], user=world["clerk_b"], changes={"phone": "1"})
    assert _state(world["clerk_b"]) == before


# -- deactivate / reactivate -------------------------------------------------------------------
def test_deactivation_ends_sessions_and_tokens_and_sign_in(world, client):
    clerk = world["clerk_a"]
    assert _sign_in(client, clerk.username)
    token = Token.objects.create(user=clerk)
    other = Session.objects.count()
    services.user_deactivate(actor=world["admin_a"], user=clerk, reason="left the service")
    clerk.refresh_from_db()
    assert not clerk.is_active
    assert Session.objects.count() == other - 1
    assert not Token.objects.filter(user=clerk).exists()
    # the browser that was signed in is signed out
    r = client.get("/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    # neither the form nor the token endpoint lets the user in again
    assert not _sign_in(client, clerk.username)
    r = client.post(
        "/api/v1/auth/token/",
        {"username": clerk.username, "password": PASSWORD},
        content_type="application/json",
    )
    assert r.status_code == 400
    r = client.get("/api/v1/facilities/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert r.status_code == 401
    entry = AuditEntry.objects.filter(object_id=str(clerk.uuid), verb="deactivate").get()
    assert entry.before == {"is_active": True}
    assert entry.after == {
        "is_active": False,
        "reason": "left the service",
        "sessions_ended": 1,
        "tokens_revoked": 1,
    }


def test_a_token_of_an_inactive_user_is_refused_even_if_it_survived(world, client):
    clerk = world["clerk_a"]
    services.user_deactivate(actor=world["admin"], user=clerk, reason="suspended")
    token = Token.objects.create(user=clerk)  # e.g. restored from a backup
    r = client.get("/api/v1/facilities/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert r.status_code == 401


def test_reactivation(world, client):
    clerk = world["clerk_a"]
    services.user_deactivate(actor=world["admin"], user=clerk, reason="suspended")
    services.user_reactivate(actor=world["admin"], user=clerk)
    clerk.refresh_from_db()
    assert clerk.is_active
    assert _sign_in(client, clerk.username)
    entry = AuditEntry.objects.get(object_id=str(clerk.uuid), verb="reactivate")
    assert entry.after == {"is_active": True} and entry.actor_username == "root"


def test_an_administrator_cannot_deactivate_themselves(world):
    before = _state(world["admin"])
    with pytest.raises(DomainError) as exc:
        services.user_deactivate(actor=world["admin"], user=world["admin"], reason="tired")
    assert exc.value.code == "own_account"
    assert _state(world["admin"]) == before


@pytest.mark.parametrize(
    "actor,target,reason,error,code",
    [
        ("admin", "clerk_a", "  ", DomainError, "reason_required"),
        ("clerk_a", "clerk_a", "bye", PermissionDenied, "forbidden"),  # not "own account"
        ("clerk_b", "clerk_a", "bye", PermissionDenied, "forbidden"),
        ("admin_a", "clerk_b", "bye", PermissionDenied, "forbidden"),
        ("admin_a", "admin", "bye", PermissionDenied, "forbidden"),
        ("admin_r2", "admin_a", "bye", PermissionDenied, "forbidden"),
    ],
)
def test_deactivation_refusals_change_nothing(world, actor, target, reason, error, code):
    Token.objects.create(user=world[target])
    before = _state(world[target])
    with pytest.raises(error) as exc:
        services.user_deactivate(actor=world[actor], user=world[target], reason=reason)
    assert exc.value.code == code
    assert _state(world[target]) == before


def test_deactivating_twice_or_reactivating_an_active_account_conflicts(world):
    with pytest.raises(ConflictError):
        services.user_reactivate(actor=world["admin"], user=world["clerk_a"])
    services.user_deactivate(actor=world["admin"], user=world["clerk_a"], reason="gone")
    before = _state(world["clerk_a"])
    with pytest.raises(ConflictError):
        services.user_deactivate(actor=world["admin"], user=world["clerk_a"], reason="gone")
    assert _state(world["clerk_a"]) == before


def test_reactivation_refused_outside_scope(world):
    services.user_deactivate(actor=world["admin"], user=world["clerk_b"], reason="gone")
    before = _state(world["clerk_b"])
    with pytest.raises(PermissionDenied):
        services.user_reactivate(actor=world["admin_a"], user=world["clerk_b"])
    assert _state(world["clerk_b"]) == before


# -- roles -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "actor,level,place,allowed",
    [
        ("admin", ScopeLevel.NATIONAL, None, True),
        ("admin_a", ScopeLevel.FACILITY, "a", True),
        ("admin_a", ScopeLevel.FACILITY, "b", False),
        ("admin_a", ScopeLevel.REGION, "r1", False),
        ("admin_a", ScopeLevel.NATIONAL, None, False),
        ("admin_r2", ScopeLevel.REGION, "r2", True),
        ("admin_r2", ScopeLevel.FACILITY, "b", True),
        ("admin_r2", ScopeLevel.FACILITY, "a", False),
        ("clerk_a", ScopeLevel.FACILITY, "a", False),
    ],
)
def test_role_assign_within_the_actor_scope_only(world, actor, level, place, allowed):
    newcomer = services.user_create(actor=None, username="newcomer", password=NEW_PASSWORD)
    kwargs = {}
    if place:
        kwargs["region" if place.startswith("r") else "facility"] = world[place]
    entries = AuditEntry.objects.count()
    if allowed:
        a = services.role_assign(
            actor=world[actor], user=newcomer, role_code="nurse", level=level, **kwargs
        )
        assert a.was_created
        entry = AuditEntry.objects.get(object_id=str(a.uuid))
        assert entry.after["role"] == "nurse" and entry.after["level"] == level
        assert entry.facility_id == a.facility_id
    else:
        with pytest.raises(PermissionDenied):
            services.role_assign(
                actor=world[actor], user=newcomer, role_code="nurse", level=level, **kwargs
            )
        assert not newcomer.assignments.exists()
        assert AuditEntry.objects.count() == entries


def test_role_assign_again_changes_nothing(world):
    a1 = services.role_assign(
        actor=world["admin"], user=world["clerk_a"], role_code="nurse", level="national"
    )
    entries = AuditEntry.objects.count()
    a2 = services.role_assign(
        actor=world["admin"], user=world["clerk_a"], role_code="nurse", level="national"
    )
    assert a1.pk == a2.pk and a1.was_created and not a2.was_created
    assert AuditEntry.objects.count() == entries


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"role_code": "jester", "level": "national"}, "role"),
        ({"role_code": "nurse", "level": "galaxy"}, "level"),
        ({"role_code": "nurse", "level": "facility"}, "facility"),
        ({"role_code": "nurse", "level": "region"}, "region"),
    ],
)
def test_role_assign_bad_input(world, kwargs, field):
    before = _state(world["clerk_a"])
    with pytest.raises(DomainError) as exc:
        services.role_assign(actor=world["admin"], user=world["clerk_a"], **kwargs)
    assert exc.value.field == field
    assert _state(world["clerk_a"]) == before


def test_role_revoke(world):
    clerk = world["clerk_a"]
    held = clerk.assignments.get()
    services.role_revoke(actor=world["admin_a"], assignment=held)
    assert not clerk.assignments.exists()
    entry = AuditEntry.objects.get(object_id=str(held.uuid), action="delete")
    assert entry.before == {
        "user": "registry.oujda2",
        "role": "registry_officer",
        "level": "facility",
        "region": None,
        "facility": "OUJDA2",
    }
    assert entry.facility_id == world["a"].pk and entry.actor_username == "admin.a"
    with pytest.raises(ConflictError):  # revoked meanwhile in another window
        services.role_revoke(actor=world["admin_a"], assignment=held)


@pytest.mark.parametrize(
    "actor,target,code",
    [
        ("admin", "admin", "own_account"),
        ("admin_a", "admin_a", "own_account"),
        ("admin_a", "clerk_b", "forbidden"),
        ("admin_r2", "clerk_a", "forbidden"),
        ("clerk_a", "clerk_a", "forbidden"),
        ("director_b", "clerk_b", "forbidden"),
    ],
)
def test_role_revoke_refusals_change_nothing(world, actor, target, code):
    held = world[target].assignments.first()
    before = _state(world[target])
    with pytest.raises(DomainError) as exc:
        services.role_revoke(actor=world[actor], assignment=held)
    assert exc.value.code == code
    assert _state(world[target]) == before


def test_role_revoke_of_a_foreign_assignment_is_refused(world):
    """An administrator of A cannot take away a role at B, even from someone they would
    otherwise manage once that role is gone."""
    clerk = world["clerk_a"]
    foreign = grant(clerk, "nurse", facility=world["b"])
    with pytest.raises(PermissionDenied):
        services.role_revoke(actor=world["admin_a"], assignment=foreign)
    assert RoleAssignment.objects.filter(pk=foreign.pk).exists()


def test_revoked_role_stops_granting_at_once(world, client):
    clerk = world["clerk_a"]
    client.force_login(clerk)
    assert client.get(f"/facilities/{world['a'].code}/").status_code == 200
    services.role_revoke(actor=world["admin"], assignment=clerk.assignments.get())
    assert client.get(f"/facilities/{world['a'].code}/").status_code == 404


# -- password reset ----------------------------------------------------------------------------
def test_password_reset_gives_a_temporary_password_once(world, client):
    clerk = world["clerk_a"]
    assert _sign_in(client, clerk.username)
    Token.objects.create(user=clerk)
    temporary = services.user_password_reset(actor=world["admin_a"], user=clerk)
    assert len(temporary) >= 12
    clerk.refresh_from_db()
    assert clerk.check_password(temporary) and not clerk.check_password(PASSWORD)
    assert not Token.objects.filter(user=clerk).exists()
    assert client.get("/").status_code == 302  # the open session ended
    entry = AuditEntry.objects.get(object_id=str(clerk.uuid), verb="password_reset")
    assert temporary not in str(entry.before) + str(entry.after) + entry.object_repr
    assert clerk.password not in str(entry.after)
    assert _sign_in(client, clerk.username, temporary)
    # every reset draws another one
    assert services.user_password_reset(actor=world["admin"], user=clerk) != temporary


@pytest.mark.parametrize(
    "actor,target,code",
    [
        ("admin", "admin", "own_account"),
        ("clerk_a", "clerk_a", "forbidden"),
        ("admin_a", "clerk_b", "forbidden"),
        ("admin_a", "admin", "forbidden"),
    ],
)
def test_password_reset_refusals_change_nothing(world, actor, target, code):
    before = _state(world[target])
    with pytest.raises(DomainError) as exc:
        services.user_password_reset(actor=world[actor], user=world[target])
    assert exc.value.code == code
    assert _state(world[target]) == before


def test_own_password_change(world, client):
    clerk = world["clerk_a"]
    with pytest.raises(DomainError) as exc:
        services.user_password_change(
            actor=clerk, old_password="wrong-password", new_password=NEW_PASSWORD
        )
    assert exc.value.field == "old_password"
    for weak in ("password1234", PASSWORD):
        with pytest.raises(DomainError) as exc:
            services.user_password_change(actor=clerk, old_password=PASSWORD, new_password=weak)
        assert exc.value.field == "new_password"
    assert User.objects.get(pk=clerk.pk).check_password(PASSWORD)
    services.user_password_change(actor=clerk, old_password=PASSWORD, new_password=NEW_PASSWORD)
    assert User.objects.get(pk=clerk.pk).check_password(NEW_PASSWORD)
    assert AuditEntry.objects.filter(object_id=str(clerk.uuid), verb="password_change").exists()


# -- second factor -----------------------------------------------------------------------------
def test_otp_reset_removes_every_device(world):
    clerk = world["clerk_a"]
    TOTPDevice.objects.create(user=clerk, name="phone", confirmed=True)
    TOTPDevice.objects.create(user=clerk, name="pending", confirmed=False)
    assert services.user_otp_reset(actor=world["admin_a"], user=clerk) == 2
    assert not TOTPDevice.objects.filter(user=clerk).exists()
    entry = AuditEntry.objects.get(object_id=str(clerk.uuid), verb="otp_reset")
    assert entry.after == {"devices_removed": 2}
    with pytest.raises(ConflictError) as exc:
        services.user_otp_reset(actor=world["admin_a"], user=clerk)
    assert exc.value.code == "no_device"


@pytest.mark.parametrize(
    "actor,target,code",
    [
        ("admin", "admin", "own_account"),
        ("clerk_a", "clerk_a", "forbidden"),
        ("admin_a", "clerk_b", "forbidden"),
        ("admin_r2", "clerk_a", "forbidden"),
    ],
)
def test_otp_reset_refusals_change_nothing(world, actor, target, code):
    TOTPDevice.objects.create(user=world[target], name="phone", confirmed=True)
    before = _state(world[target])
    with pytest.raises(DomainError) as exc:
        services.user_otp_reset(actor=world[actor], user=world[target])
    assert exc.value.code == code
    assert _state(world[target]) == before


def test_refused_services_leave_the_audit_chain_intact(world):
    from idmaj.core import audit

    for call in (
        lambda: services.user_deactivate(actor=world["admin_a"], user=world["clerk_b"], reason="x"),
        lambda: services.user_password_reset(actor=world["clerk_a"], user=world["clerk_b"]),
    ):
        with pytest.raises(DomainError):
            call()
    assert audit.verify_chains()[1] == []


def test_account_scope_dataclass_covers():
    scope = AccountScope(national=False, region_ids=frozenset({1}), facility_ids=frozenset({7}))
    assert scope.covers("region", 1, None) and not scope.covers("region", 2, None)
    assert scope.covers("facility", None, 7) and not scope.covers("facility", None, 8)
    assert not scope.covers("national", None, None)
    assert AccountScope(national=True).covers("national", None, None)
