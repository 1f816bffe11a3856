from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from messaging.integrations import catalogue


class Command(BaseCommand):
    help = "Print the README's channel x capability table (or rewrite it in place with --write)."

    def add_arguments(self, parser):
        parser.add_argument("--write", action="store_true", help="replace the table in README.md")

    def handle(self, *args, write=False, **options):
        table = catalogue.table()
        if not write:
            self.stdout.write(table)
            return
        readme = Path(settings.BASE_DIR) / "README.md"
        text = readme.read_text()
        if catalogue.readme_section(text) is None:
            raise SystemExit(f"README.md has no {catalogue.START} ... {catalogue.END} markers")
        before, rest = text.split(catalogue.START, 1)
        after = rest.split(catalogue.END, 1)[1]
        readme.write_text(f"{before}{catalogue.START}\n{table}\n{catalogue.END}{after}")
        self.stdout.write("README.md: channel table rewritten")
