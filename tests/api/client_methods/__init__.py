"""The cases of tests/api/test_every_client_method.py: one for every method
of the official npm clients, smooch-core 3.5.0 ("v3", at /v1) and 8.11.4
("v8", at /v1.1), registered with `@case("v8 appUsers.mergeUsers", ...)`.

A case gets a `Tenant` (tests/api/client_methods/world.py: a team of its
own with an app, keys and helpers) and the client's name; it calls the
method through the client against the live server and asserts on what
Parley answered and stored. The method list comes from the installed
clients' lib/api/*.js (`client_methods`): a method without a case, or a
case for a method the clients don't have, fails the test.

One module per area of the API; each is imported by `load_cases`.
"""

import importlib
import pkgutil
import re
from pathlib import Path

JS = Path(__file__).resolve().parents[2] / "js"
PACKAGES = {"v3": "smooch-core", "v8": "smooch-core-8"}

# lib/api/<file>.js -> where the client exposes that API (a file not named
# here is exposed under its own name, as most are).
ACCESSOR = {
    "appKeys": "apps.keys",
    "appUsersStripe": "appUsers.stripe",
    "appUsersViber": "appUsers.viber",
    "appUsersWeChat": "appUsers.wechat",
    "integrationMenu": "integrations.menu",
    "integrationMessageTemplates": "integrations.messageTemplates",
    "integrationProfile": "integrations.profile",
    "integrationProfilePhoto": "integrations.profile.photo",
    "serviceAccountKeys": "serviceAccounts.keys",
}

# A method the client builds with its request helper (`smoochMethod`):
# every call of the API. The clients' other functions (validateProps, and
# v3's deprecated conversations.sendMessage that only rejects) send nothing.
METHOD = re.compile(r"^\s+(\w+): \(0, _smoochMethod2\.default\)\(", re.M)

CASES: dict[str, object] = {}

def case(*methods: str):
    """Register the decorated function as the case of each method named
    "<client> <accessor>.<method>" (several when one case fits them)."""

    def register(function):
        for method in methods:
            client, _, name = method.partition(" ")
            assert client in PACKAGES and name, f"bad case name {method!r}"
            assert method not in CASES, f"{method} has two cases"
            CASES[method] = function
        return function

    return register


def client_methods() -> set[str]:
    """Every API method of both installed clients, named as `case` names them."""
    found = set()
    for client, package in PACKAGES.items():
        for source in sorted((JS / "node_modules" / package / "lib" / "api").glob("*.js")):
            accessor = ACCESSOR.get(source.stem, source.stem)
            found |= {f"{client} {accessor}.{name}" for name in METHOD.findall(source.read_text())}
    return found


def load_cases() -> dict[str, object]:
    for module in pkgutil.iter_modules(__path__):
        if module.name != "world":
            importlib.import_module(f"{__name__}.{module.name}")
    return CASES
