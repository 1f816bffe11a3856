"""Every method of the official npm clients, smooch-core 3.5.0 and 8.11.4,
called through the client against a live Parley on the test database
(PostgreSQL in `make test`), each case asserting on what Parley answered
and stored (tests/api/client_methods/).

The method list is read from the installed clients' lib/api/*.js: a method
added upstream has no case and fails `test_every_method_has_a_case` until
it gets one. No method may meet the catch-all "No API route" 404.

One server and one client process serve the module; every case has a
team of its own and is a transactional test (the server must see what it
set up).
"""

import pytest
from tests.api.client_methods import client_methods, load_cases
from tests.api.client_methods.world import Clients, Tenant
from tests.api.test_smooch_core import declared_clients, install_smooch_core, node
from tests.support.live import LiveServer

CASES = load_cases()

# Where each fake platform is reached (its setting's name).
FAKES = {
    "telegram": ("telegram_server", "PARLEY_TELEGRAM_API_BASE"),
    "messenger": ("messenger_server", "PARLEY_MESSENGER_API_BASE"),
    "whatsapp": ("whatsapp_server", "PARLEY_WHATSAPP_API_BASE"),
    "twilio": ("twilio_server", "PARLEY_TWILIO_API_BASE"),
    "line": ("line_server", "PARLEY_LINE_API_BASE"),
    "viber": ("viber_server", "PARLEY_VIBER_API_BASE"),
    "mailgun": ("mailgun_server", "PARLEY_MAILGUN_API_BASE"),
}


@pytest.fixture(scope="module")
def world(request, django_db_setup):
    install_smooch_core()
    assert declared_clients() == {"smooch-core": "3.5.0", "smooch-core-8": "8.11.4", "axe-core": "4.14.1"}
    fakes = {name: request.getfixturevalue(fixture) for name, (fixture, _) in FAKES.items()}
    env = {setting: fakes[name].url for name, (_, setting) in FAKES.items()}
    env["PARLEY_LINE_DATA_API_BASE"] = fakes["line"].data_url
    # Telegram and Viber take HTTPS webhook URLs only; this server is on
    # plain http://127.0.0.1.
    for name in ("telegram", "viber"):
        fakes[name].https_only = False
    server = LiveServer(worker=True, **env)
    clients = Clients(node(), server.url)
    try:
        yield clients, fakes, server
    finally:
        clients.close()
        server.stop()
        for name in ("telegram", "viber"):
            fakes[name].https_only = True


def test_every_method_has_a_case():
    install_smooch_core()
    methods = client_methods()
    assert len(methods) > 100, "the clients' lib/api/*.js were not read"
    missing, unknown = sorted(methods - CASES.keys()), sorted(CASES.keys() - methods)
    assert not missing, "client methods without a case:\n" + "\n".join(missing)
    assert not unknown, "cases for methods the clients don't have:\n" + "\n".join(unknown)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("method", sorted(CASES))
def test_client_method(method, world, settings):
    # The tenant's owner never signs in: no need for PBKDF2's slowness.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    clients, fakes, server = world
    for fake in fakes.values():
        fake.reset()
    client, _, name = method.partition(" ")
    tenant = Tenant.new(clients, fakes)
    start = len(clients.called)
    try:
        CASES[method](tenant, client)
    except AssertionError as failure:
        raise AssertionError(f"{failure}\n--- server log ---\n{server.output()[-3000:]}") from failure
    # (Clients.call fails a call that meets the catch-all route.)
    assert method in clients.called[start:], f"the case of {method} never called it"
