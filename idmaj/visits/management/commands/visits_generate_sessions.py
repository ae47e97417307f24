from django.core.management.base import BaseCommand, CommandError

from idmaj.visits.services import sessions_generate_all


class Command(BaseCommand):
    help = (
        "Make the dated visit sessions from the weekly sessions, for every institution with "
        "visit rules (or one), up to its booking window (or --days) ahead. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="days ahead (1-180)")
        parser.add_argument("--facility", default=None, help="code of one institution")

    def handle(self, *args, days=None, facility=None, **opts):
        if days is not None and not 1 <= days <= 180:
            raise CommandError("--days must lie between 1 and 180.")
        made = sessions_generate_all(days=days, facility_code=facility)
        if facility and facility not in made:
            raise CommandError(f"No institution {facility} with visit rules.")
        for code, n in made.items():
            self.stdout.write(f"{code}: {n}")
        self.stdout.write(f"Sessions made: {sum(made.values())}.")
