from django.core.management.base import BaseCommand

from idmaj.inmates.services import person_name_keys_refresh


class Command(BaseCommand):
    help = "Recompute the normalised name keys of every person (after a change of the rules)."

    def handle(self, *args, **opts):
        changed = person_name_keys_refresh()
        self.stdout.write(f"Name keys updated: {changed}.")
