import pytest

from idmaj.core.services import roles_sync

from .factories import visit_scenario


@pytest.fixture
def vs(db):
    """The visits scenario (see ``factories.visit_scenario``), with the roles in the tables."""
    roles_sync()
    return visit_scenario()
