from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_roles(sender, **kwargs):
    from .services import roles_sync

    roles_sync(using=kwargs.get("using", "default"))


class CoreConfig(AppConfig):
    name = "idmaj.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self):
        from . import signals  # noqa: F401

        post_migrate.connect(_sync_roles, sender=self)
