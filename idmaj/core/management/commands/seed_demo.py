import importlib

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand

from idmaj.core.demo import seed_accounts


class Command(BaseCommand):
    help = "Seed demo data (idempotent). --scale national builds national volume for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=["demo", "national"], default="demo")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when institutions already exist"
        )
        parser.add_argument("--seed", type=int, default=2020, help="random seed")

    def handle(self, *args, scale="demo", if_empty=False, seed=2020, **opts):
        from idmaj.facilities.models import Facility

        if if_empty and Facility.objects.exists():
            self.stdout.write("Demo data already present.")
            return
        # Each domain seeds its own data, in dependency order (INSTALLED_APPS).
        for config in apps.get_app_configs():
            if not config.name.startswith("idmaj."):
                continue
            try:
                module = importlib.import_module(f"{config.name}.demo")
            except ModuleNotFoundError:
                continue
            if hasattr(module, "seed"):
                module.seed(scale=scale, random_seed=seed, stdout=self.stdout)
        seed_accounts(password=settings.DEMO_PASSWORD, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS(f"Seeded ({scale})."))
