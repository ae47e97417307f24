"""Writes of the visits domain, one module per area; import them from here
(``from idmaj.visits import services; services.visit_book(...)``).

Staff services take ``actor`` (a staff ``User``; ``None`` for the system itself) and check
its permission for the institution; family services take ``account`` (a ``FamilyAccount``).
Each works in one ``transaction.atomic`` block with its audit entries on the institution's
chain; messages to families go through ``_common.notify_family`` (sent after commit).

* ``accounts``: family registration, phone verification, sign-in, password reset, tokens.
* ``lists``: visitor list requests and decisions, children, restrictions.
* ``sessions``: rules, rooms, weekly sessions, excluded dates, pauses, dated sessions.
* ``bookings``: booking under capacity and allowance, cancel, change, staff bookings.
* ``gate``: check-in by code, identity check, arrival, start, end, no-show, walk-ins.
* ``changes``: what a transfer, a release, a ban, a removal from a list or a day without
  visits does to bookings.
* ``retention``: purge of visitors' personal data after the retention period.
"""

from .accounts import *  # noqa: F403
from .bookings import *  # noqa: F403
from .changes import *  # noqa: F403
from .gate import *  # noqa: F403
from .lists import *  # noqa: F403
from .retention import *  # noqa: F403
from .sessions import *  # noqa: F403
