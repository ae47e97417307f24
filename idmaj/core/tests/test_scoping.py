"""The one scoping rule: national, regional and institution assignments, with their dates."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.utils import timezone

from idmaj.core.constants import ScopeLevel
from idmaj.core.models import Role, RoleAssignment
from idmaj.core.scoping import Access, access_for, get_for_user_or_404, require_perm
from idmaj.core.tests.factories import UserFactory, grant
from idmaj.facilities.models import Facility
from idmaj.facilities.tests.factories import FacilityFactory, RegionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def land(db):
    east = RegionFactory(code="EAST")
    west = RegionFactory(code="WEST")
    return {
        "east": east,
        "west": west,
        "e1": FacilityFactory(code="E1", region=east),
        "e2": FacilityFactory(code="E2", region=east),
        "w1": FacilityFactory(code="W1", region=west),
    }


def _codes(user) -> set[str]:
    return set(access_for(user).filter(Facility.objects.all(), "id").values_list("code", flat=True))


def test_national_assignment_sees_everything(land):
    u = UserFactory()
    grant(u, "central_admin")
    assert access_for(u).facility_ids() is None
    assert _codes(u) == {"E1", "E2", "W1"}
    assert access_for(u).has_perm("facilities.edit", land["w1"].pk)


def test_regional_assignment_sees_its_region_only(land):
    u = UserFactory()
    grant(u, "regional_director", region=land["east"])
    assert _codes(u) == {"E1", "E2"}
    access = access_for(u)
    assert access.has_perm("facilities.view", land["e2"].pk)
    assert not access.has_perm("facilities.view", land["w1"].pk)
    assert not access.has_perm("facilities.edit", land["e1"].pk)  # not in the role
    assert access.perm_facility_ids("facilities.view") == {land["e1"].pk, land["e2"].pk}
    # an institution opened later in the region is covered too
    e3 = FacilityFactory(code="E3", region=land["east"])
    assert Access(u).has_perm("facilities.view", e3.pk)


def test_facility_assignment_and_permission_per_facility(land):
    u = UserFactory()
    grant(u, "institution_director", facility=land["e1"])
    grant(u, "registry_officer", facility=land["w1"])
    access = access_for(u)
    assert _codes(u) == {"E1", "W1"}
    assert access.has_perm("facilities.edit", land["e1"].pk)
    assert not access.has_perm("facilities.edit", land["w1"].pk)  # registry there, not director
    assert access.has_perm("facilities.edit")  # somewhere
    assert access.perm_facility_ids("facilities.edit") == {land["e1"].pk}
    assert not access.has_perm("audit.view")


def test_validity_dates_are_respected(land):
    today = timezone.localdate()
    u = UserFactory()
    a = grant(u, "institution_director", facility=land["e1"])
    b = grant(u, "institution_director", facility=land["e2"])
    c = grant(u, "institution_director", facility=land["w1"])
    RoleAssignment.objects.filter(pk=a.pk).update(valid_until=today - dt.timedelta(days=1))
    RoleAssignment.objects.filter(pk=b.pk).update(valid_from=today + dt.timedelta(days=1))
    RoleAssignment.objects.filter(pk=c.pk).update(valid_from=today, valid_until=today)
    access = Access(u)
    assert access.facility_ids() == {land["w1"].pk}
    assert not access.has_perm("facilities.view", land["e1"].pk)
    assert not access.has_perm("facilities.view", land["e2"].pk)
    assert access.has_perm("facilities.view", land["w1"].pk)
    assert Access(u, today=today + dt.timedelta(days=1)).facility_ids() == {land["e2"].pk}


def test_user_without_roles_sees_nothing(land):
    u = UserFactory()
    assert access_for(u).facility_ids() == frozenset()
    assert _codes(u) == set()
    assert not access_for(u).has_perm("facilities.view")
    assert access_for(AnonymousUser()).facility_ids() == frozenset()


def test_inactive_user_sees_nothing(land):
    u = UserFactory()
    grant(u, "central_admin")
    u.is_active = False
    assert Access(u).facility_ids() == frozenset()


def test_get_for_user_or_404_missing_and_out_of_scope_alike(land):
    u = UserFactory()
    grant(u, "registry_officer", facility=land["e1"])
    qs = Facility.objects.all()
    assert get_for_user_or_404(qs, u, "id", code="E1") == land["e1"]
    with pytest.raises(Http404):
        get_for_user_or_404(qs, u, "id", code="W1")  # exists, not theirs
    with pytest.raises(Http404):
        get_for_user_or_404(qs, u, "id", code="NOPE")  # does not exist
    with pytest.raises(Http404):
        require_perm(u, "facilities.edit", land["e1"].pk)
    require_perm(u, "facilities.view", land["e1"].pk)


def test_star_role_holds_every_permission(land):
    u = UserFactory()
    grant(u, "system_admin")
    access = access_for(u)
    for code in ("audit.view", "accounts.view_lockouts", "facilities.edit", "anything.at_all"):
        assert access.has_perm(code, land["w1"].pk)
    assert access.perm_facility_ids("audit.view") is None


def test_star_role_held_for_one_institution_stays_there(land):
    u = UserFactory()
    RoleAssignment.objects.create(
        user=u,
        role=Role.objects.get(code="system_admin"),
        level=ScopeLevel.FACILITY,
        facility=land["e1"],
    )
    access = access_for(u)
    assert access.has_perm("facilities.edit", land["e1"].pk)
    assert not access.has_perm("facilities.edit", land["w1"].pk)


def test_superuser_is_national(land):
    u = UserFactory(is_superuser=True)
    assert access_for(u).facility_ids() is None
    assert access_for(u).has_perm("audit.view", land["e1"].pk)


def test_read_only_roles(land):
    auditor = UserFactory()
    grant(auditor, "auditor")
    assert access_for(auditor).read_only
    director = UserFactory()
    grant(director, "institution_director", facility=land["e1"])
    assert not access_for(director).read_only


def test_access_is_computed_once(land, django_assert_num_queries):
    u = UserFactory()
    grant(u, "regional_director", region=land["east"])
    access = access_for(u)
    access.facility_ids()
    with django_assert_num_queries(0):
        assert access_for(u) is access
        access.facility_ids()
        access.filter(Facility.objects.all(), "id")
