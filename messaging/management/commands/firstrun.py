import json
import secrets

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from messaging.models import KeyScope, User
from messaging.services.accounts import sign_up
from messaging.services.apps import create_app, create_key

FIRST_RUN_FILE = "first-run.json"


class Command(BaseCommand):
    help = "On an empty database: create a login and a demo app, and print them."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="")

    def handle(self, base_url="", **options):
        base_url = (base_url or settings.PARLEY_PUBLIC_URL or "http://127.0.0.1:8000").rstrip("/")
        path = settings.VAR_DIR / FIRST_RUN_FILE
        if not User.objects.exists():
            info = self.create(base_url)
            path.write_text(json.dumps(info, indent=2))
            path.chmod(0o600)
            heading = "Parley is set up. Keep these (also saved in var/first-run.json):"
        elif path.exists():
            info = json.loads(path.read_text())
            heading = "Parley (first-run credentials, from var/first-run.json):"
        else:
            return
        self.stdout.write(heading)
        self.stdout.write(f"  dashboard:  {base_url}/login/")
        self.stdout.write(f"  login:      {info['email']}")
        self.stdout.write(f"  password:   {info['password']}")
        self.stdout.write(f"  demo app:   {info['appName']} (appId {info['appId']})")
        self.stdout.write(f"  appToken:   {info['appToken']}")
        self.stdout.write(f"  API key:    {info['keyId']}")
        self.stdout.write(f"  secret:     {info['secret']}")
        self.stdout.write(f"  demo page:  {base_url}/demo/{info['appId']}/")

    @transaction.atomic
    def create(self, base_url):
        email = "admin@parley.local"
        password = secrets.token_urlsafe(12)
        membership = sign_up(email=email, password=password, team_name="My team", name="Admin")
        app = create_app(team=membership.team, name="Demo app")
        key, secret = create_key(
            team=membership.team, scope=KeyScope.APP, app=app, name="demo", created_by=membership.user
        )
        return {
            "email": email,
            "password": password,
            "appName": app.name,
            "appId": app.id,
            "appToken": app.app_token,
            "keyId": key.key_id,
            "secret": secret,
        }
