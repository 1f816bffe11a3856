import json as jsonlib

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from messaging.models import KeyScope, Membership, Role, Team, User
from messaging.services.apps import create_app, create_key


class Command(BaseCommand):
    help = "Create an app (and its team owner if missing) with an app-scope API key."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--owner", required=True, help="email of the team owner")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    @transaction.atomic
    def handle(self, name, owner, json=False, **options):
        name = name.strip()
        if not name:
            raise CommandError("the app name must not be empty")
        email = owner.strip().lower()
        if "@" not in email:
            raise CommandError(f"{owner!r} is not an email address")
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=None)
        membership = (
            Membership.objects.filter(user=user, role=Role.OWNER).select_related("team").first()
        )
        if membership is None:
            team = Team.objects.create(name=f"{email.split('@')[0]}'s team")
            membership = Membership.objects.create(team=team, user=user, role=Role.OWNER)
        app = create_app(team=membership.team, name=name)
        key, secret = create_key(
            team=membership.team, scope=KeyScope.APP, app=app, name="createapp", created_by=user
        )
        result = {"appId": app.id, "appToken": app.app_token, "keyId": key.key_id, "secret": secret}
        if json:
            self.stdout.write(_json_dumps(result))
        else:
            for field, value in result.items():
                self.stdout.write(f"{field}: {value}")


def _json_dumps(value):
    return jsonlib.dumps(value)
