"""Writes of the inmate registry, one module per area; import them from here
(``from idmaj.inmates import services; services.inmate_admit(...)``).

Every service takes ``actor`` (``None`` for the system itself: imports, demo data), checks
the actor's permission for the institution (``_common.require_perm``), works in one
``transaction.atomic`` block, runs ``full_clean()`` before saving and appends its audit
entries in the same transaction, on the institution's chain. Services that act on a
prisoner lock the open custody period first (``_common.lock_open_custody``).

* ``admission``: search before create, committal (``inmate_admit``).
* ``records``: identity corrections, photo, family and contacts, personal property, the
  family notification and the director's alerts of Mandela rule 7.
* ``legal``: hearings and decisions, legal status, sentences, pardon decrees, conditional
  release; keeps ``Detention.expected_release``.
* ``housing``: cell allocation under the separation rules and the operational maximum.
* ``movements``: transfers, temporary absences, release, escape, death.
* ``imports``: bulk import of a legacy registry (CSV/XLSX), all or nothing.
"""

from .admission import *  # noqa: F403
from .admission import PERSON_FIELDS  # noqa: F401
from .housing import *  # noqa: F403
from .imports import *  # noqa: F403
from .legal import *  # noqa: F403
from .movements import *  # noqa: F403
from .records import *  # noqa: F403
