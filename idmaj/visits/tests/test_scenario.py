from idmaj.core.scoping import access_for


def test_scenario_roles_and_list(vs):
    assert access_for(vs.officer).has_perm("visits.manage", vs.facility.pk)
    assert not access_for(vs.officer).has_perm("visits.manage", vs.other_facility.pk)
    assert vs.adult.account == vs.account
    assert vs.child.guardian == vs.adult
    assert vs.sessions[0].booked_visits == 0
