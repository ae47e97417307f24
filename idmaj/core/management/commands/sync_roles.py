from django.core.management.base import BaseCommand

from idmaj.core.services import roles_sync


class Command(BaseCommand):
    help = "Make the roles and permissions tables match their declaration (core/roles.py, */permissions.py)."

    def handle(self, *args, **opts):
        result = roles_sync()
        self.stdout.write(
            f"{result['roles']} roles, {result['permissions']} permissions; {result['changed']} changes."
        )
