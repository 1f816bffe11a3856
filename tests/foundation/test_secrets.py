import json
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from messaging.models import ApiKey


def _create(settings):
    out = StringIO()
    call_command("createapp", "Shop", "--owner", "boss@shop.example", "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_it_rotates_secrets_to_a_new_key(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PARLEY_SECRETS_KEY = old
    result = _create(settings)

    settings.PARLEY_SECRETS_KEY = f"{new},{old}"
    call_command("rotatesecrets", stdout=StringIO())

    settings.PARLEY_SECRETS_KEY = new  # the old key is gone
    assert ApiKey.objects.get(key_id=result["keyId"]).secret == result["secret"]


@pytest.mark.django_db
def test_it_refuses_to_read_secrets_without_their_key(settings):
    settings.PARLEY_SECRETS_KEY = Fernet.generate_key().decode()
    result = _create(settings)
    settings.PARLEY_SECRETS_KEY = Fernet.generate_key().decode()
    with pytest.raises(ValueError, match="PARLEY_SECRETS_KEY"):
        ApiKey.objects.get(key_id=result["keyId"])


@pytest.mark.django_db
def test_it_keeps_platform_credentials_encrypted(app):
    from django.db import connection

    from messaging.models import Integration

    integration = Integration.objects.create(app=app, type="telegram", credentials={"token": "123:abc"})
    assert Integration.objects.get(pk=integration.pk).credentials == {"token": "123:abc"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM messaging_integration WHERE id = %s", [integration.pk])
        (stored,) = cursor.fetchone()
    assert "123:abc" not in stored
