"""What a case of tests/api/test_every_client_method.py works with: one
live server on the test database (with its worker, and every platform base
URL on a fake platform), the official clients behind tests/js/call.js, and
a `Tenant` per case: a team of its own, so that what one case creates is
never in another's lists."""

import itertools
import json
import subprocess
from dataclasses import dataclass

from messaging.models import AppUser, KeyScope
from messaging.services.accounts import sign_up
from messaging.services.apps import create_app, create_key
from tests.api.client_methods import JS

_serial = itertools.count(1)


@dataclass
class Answer:
    """What the client gave back: `body` on success; on a refusal `status`
    and the server's `body`; `error` when the client sent nothing."""

    ok: bool
    body: object = None
    status: int | None = None
    error: str | None = None

    @property
    def code(self):
        return self.body.get("error", {}).get("code") if isinstance(self.body, dict) else None


class Clients:
    """tests/js/call.js, running for the module: one request per line."""

    def __init__(self, node: str, service_url: str):
        self.service_url = service_url
        self.proc = subprocess.Popen([node, str(JS / "call.js")], cwd=JS, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={"PATH": "/usr/bin:/bin"})
        self.called: list[str] = []

    def call(self, client: str, auth: dict, method: str, args) -> Answer:
        request = {"client": client, "serviceUrl": self.service_url, "auth": auth, "method": method,
                   "args": list(args)}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"tests/js/call.js exited:\n{self.proc.stderr.read()}")
        self.called.append(f"{client} {method}")
        answer = Answer(**json.loads(line))
        if answer.status == 404 and "No API route" in json.dumps(answer.body):
            raise AssertionError(f"{client} {method} met the catch-all route: {answer.body}")
        return answer

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


@dataclass
class Tenant:
    """A team with an app, an app key and an account key, for one case.
    `call(client, method, *args)` signs with the app key; `as_="account"`
    with the account key, `jwt=` with that token instead."""

    clients: Clients
    fakes: dict
    team: object = None
    owner: object = None
    app: object = None
    app_key: object = None
    app_secret: str = ""
    account_key: object = None
    account_secret: str = ""

    @classmethod
    def new(cls, clients, fakes, require_user_jwt=False):
        n = next(_serial)
        membership = sign_up(email=f"owner{n}@methods.example", password="not-used-here",
                             team_name=f"Team {n}")
        team = membership.team
        app = create_app(team=team, name=f"App {n}", membership=membership, require_user_jwt=require_user_jwt)
        app_key, app_secret = create_key(team=team, scope=KeyScope.APP, app=app, name="app key")
        account_key, account_secret = create_key(team=team, scope=KeyScope.ACCOUNT, name="account key")
        return cls(clients, fakes, team, membership.user, app, app_key, app_secret, account_key,
                   account_secret)

    def call(self, client: str, method: str, *args, as_: str = "app", jwt: str | None = None) -> Answer:
        if jwt:
            auth = {"jwt": jwt}
        elif as_ == "account":
            auth = {"keyId": self.account_key.key_id, "secret": self.account_secret, "scope": "account"}
        else:
            auth = {"keyId": self.app_key.key_id, "secret": self.app_secret, "scope": "app"}
        return self.clients.call(client, auth, method, args)

    def user(self, user_id: str = "", **fields) -> AppUser:
        return AppUser.objects.create(app=self.app, user_id=user_id or None, **fields)

    def other(self) -> "Tenant":
        """Another team, for a case's tenancy check."""
        return Tenant.new(self.clients, self.fakes)
