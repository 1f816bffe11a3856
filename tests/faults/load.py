"""A steady load on a Parley deployment, and what the outside world saw of
it: a thread posts, at a modest rate, appMaker messages through the REST
API (to users on Telegram) and appUser messages through Telegram's inbound
webhook; it notes which calls Parley accepted (a 2xx answer). What reached
the outside is counted at the fake Telegram (sendMessage calls it took) and
at the webhook receiver (message:appUser events it answered 200), never in
Parley's tables."""

import itertools
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import requests

from tests.support.fake_telegram import message_update

PERIOD = 0.1  # seconds between two calls: about 5 messages/s of each kind
# Calls in flight at once: a call that waits on a fault (a database down,
# a web process gone) does not slow the load's steady rate.
IN_FLIGHT = 24


@dataclass
class Call:
    kind: str  # "appMaker" (REST API) or "appUser" (Telegram's webhook)
    text: str
    status: int | None  # None: no answer (connection refused, timeout)
    bad: str = ""  # what was wrong with a refusal (HTML, a 500, no Retry-After)


@dataclass
class Phase:
    name: str
    calls: list[Call] = field(default_factory=list)  # the calls answered (or given up on)
    started: int = 0
    futures: list = field(default_factory=list)

    def accepted(self, kind: str) -> list[str]:
        return [c.text for c in self.calls if c.kind == kind and c.status is not None and 200 <= c.status < 300]


class Load:
    """Posts alternately through `servers()` (round robin over the web
    processes up at the time) until stopped. `users`: Telegram chat id ->
    appUser id."""

    def __init__(self, servers, auth: dict, webhook_path: str, secret: str, users: dict[int, str]):
        self.servers, self.auth, self.webhook_path, self.secret = servers, auth, webhook_path, secret
        self.users = list(users.items())
        self.update_ids = itertools.count(10_000)
        self.local = threading.local()  # a requests session per thread
        self.pool = ThreadPoolExecutor(IN_FLIGHT, thread_name_prefix="load")
        self._stop = threading.Event()
        self._thread = None
        self.phase = None

    def start(self, name: str) -> Phase:
        self.phase = Phase(name)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(self.phase,), daemon=True)
        self._thread.start()
        return self.phase

    def stop(self) -> Phase:
        """Stop sending; returns the phase once every call made has ended."""
        self._stop.set()
        self._thread.join(30)
        wait(self.phase.futures, timeout=30)
        return self.phase

    def _run(self, phase: Phase) -> None:
        for n in itertools.count():
            if self._stop.is_set():
                return
            started = time.monotonic()
            servers = self.servers()
            base = servers[n % len(servers)].url
            chat, app_user_id = self.users[n % len(self.users)]
            if n % 2:
                text = f"{phase.name} appMaker {n}"
                self._submit(phase, "appMaker", text, f"{base}/v1/appusers/{app_user_id}/messages",
                             {"role": "appMaker", "type": "text", "text": text}, self.auth)
            else:
                text = f"{phase.name} appUser {n}"
                update = message_update(next(self.update_ids), chat, text=text,
                                        sender={"id": chat, "is_bot": False, "first_name": f"User {chat}"})
                self._submit(phase, "appUser", text, base + self.webhook_path, update,
                             {"X-Telegram-Bot-Api-Secret-Token": self.secret})
            self._stop.wait(max(0.0, PERIOD - (time.monotonic() - started)))

    def _submit(self, phase: Phase, kind, *args) -> None:
        phase.started += 1
        phase.futures.append(self.pool.submit(lambda: phase.calls.append(self._call(kind, *args))))

    def _call(self, kind, text, url, body, headers) -> Call:
        session = getattr(self.local, "session", None) or requests.Session()
        self.local.session = session
        try:
            response = session.post(url, json=body, headers=headers, timeout=10)
        except requests.RequestException:
            return Call(kind, text, None)
        return Call(kind, text, response.status_code, _what_is_wrong(kind, response))


def _what_is_wrong(kind: str, response) -> str:
    """A refusal must be the Smooch error JSON (the API) and a database or
    Redis outage a 503 with Retry-After, never an HTML 500 page."""
    if response.status_code < 400:
        return ""
    if response.status_code >= 500 and (response.status_code != 503 or "Retry-After" not in response.headers):
        return f"{response.status_code} {response.headers.get('Content-Type')}: {response.text[:200]}"
    if kind == "appMaker":
        try:
            error = response.json()["error"]
            assert error["code"] and error["description"]
        except (ValueError, KeyError, TypeError, AssertionError):
            return f"{response.status_code} not a Smooch error body: {response.text[:200]}"
    return ""


def sent_texts(telegram) -> Counter:
    """The texts Telegram took (sendMessage answered 200), with how often."""
    return Counter(call.get("text") for call in telegram.calls("sendMessage"))


def webhook_texts(receiver) -> Counter:
    """The texts of the message:appUser events the receiver answered 200."""
    texts = Counter()
    for request in receiver.received():
        if request.status == 200:
            payload = request.json()
            if payload.get("trigger") == "message:appUser":
                texts.update(m.get("text") for m in payload.get("messages", []))
    return texts
