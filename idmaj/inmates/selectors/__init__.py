"""Reads of the inmate registry, one module per area; import them from here. Whatever
depends on who asks takes ``fetched_by`` (or ``user``) and is scoped by
``CustodyPeriod.objects.visible_to`` (or, for movements, by the institutions at either
end), nowhere else."""

from .housing import *  # noqa: F403
from .imports import *  # noqa: F403
from .legal import *  # noqa: F403
from .movements import *  # noqa: F403
from .population import *  # noqa: F403
from .records import *  # noqa: F403
from .registry import *  # noqa: F403
