import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from messaging.models import ApiKey, App, Membership, User

pytestmark = pytest.mark.smoke


def run_createapp(*args):
    out = StringIO()
    call_command("createapp", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_it_prints_exactly_one_json_object():
    out = run_createapp("Shop", "--owner", "boss@shop.example", "--json")
    result = json.loads(out)
    assert set(result) == {"appId", "appToken", "keyId", "secret"}
    app = App.objects.get(id=result["appId"])
    assert app.name == "Shop" and app.app_token == result["appToken"]
    key = ApiKey.objects.get(key_id=result["keyId"])
    assert key.scope == "app" and key.app == app and key.secret == result["secret"]
    assert Membership.objects.get(user__email="boss@shop.example").role == "owner"


@pytest.mark.django_db
def test_it_reuses_the_owner_and_team():
    first = json.loads(run_createapp("One", "--owner", "boss@shop.example", "--json"))
    second = json.loads(run_createapp("Two", "--owner", "BOSS@shop.example", "--json"))
    assert User.objects.count() == 1
    assert App.objects.get(id=first["appId"]).team == App.objects.get(id=second["appId"]).team


@pytest.mark.django_db
def test_it_stores_key_secrets_encrypted():
    from django.db import connection

    result = json.loads(run_createapp("Shop", "--owner", "boss@shop.example", "--json"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM messaging_apikey WHERE key_id = %s", [result["keyId"]])
        (stored,) = cursor.fetchone()
    assert result["secret"] not in stored


@pytest.mark.django_db
def test_it_rejects_a_bad_owner_and_creates_nothing():
    with pytest.raises(CommandError):
        run_createapp("Shop", "--owner", "not-an-email")
    assert not App.objects.exists() and not User.objects.exists()
