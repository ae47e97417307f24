import json

from django.core.management.base import BaseCommand, CommandError

from idmaj.visits.services import visits_purge


class Command(BaseCommand):
    help = (
        "Erase the personal data of family accounts unused for the retention period "
        "(settings.VISITS_RETENTION_MONTHS) and the names on the visitor lists of detentions "
        "that ended before it. Bookings stay as anonymous statistics."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be erased; change nothing."
        )
        parser.add_argument(
            "--months",
            type=int,
            default=None,
            help="Retention period in months (default: setting).",
        )
        parser.add_argument("--json", action="store_true", help="Print the summary as JSON.")

    def handle(self, *args, **opts):
        try:
            result = visits_purge(months=opts["months"], dry_run=opts["dry_run"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if opts["json"]:
            self.stdout.write(json.dumps(result))
            return
        what = "Would purge" if result["dry_run"] else "Purged"
        self.stdout.write(
            f"{what} (inactive since {result['cutoff']}, {result['months']} months): "
            f"{result['accounts']} family accounts, {result['visitors']} visitor entries, "
            f"{result['documents']} documents, {result['codes']} codes, {result['tokens']} tokens; "
            f"history lists: {result['history_visitors']} visitor entries, "
            f"{result['history_documents']} documents."
        )
