"""Reads of the visits domain that depend on who asks, one module per area.

Staff reads are scoped through ``core.scoping`` on each row's ``facility_id``; family reads
through the account's approved visitor entries only (``lists.family_prisoners``).
"""

from .accounts import *  # noqa: F403
from .bookings import *  # noqa: F403
from .figures import *  # noqa: F403
from .gate import *  # noqa: F403
from .lists import *  # noqa: F403
from .sessions import *  # noqa: F403
