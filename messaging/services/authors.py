"""Who wrote a business message: the `authorId` of its JSON.

Smooch shows an `authorId` on every message; on a business message it
tells senders apart (one API key from another, a dashboard member from a
script), so a webhook consumer or an agent can see who answered. Parley
never shows the key id itself there (it names the signing key of JWTs): a
business author's id is an HMAC of its kind and primary key under the
`SECRET_KEY` (Django's `salted_hmac`), 24 hex digits like Smooch's ids,
stable across restarts and processes, and stored on the message when it is
written (a later key rotation or deletion leaves history as it was)."""

from dataclasses import dataclass

from django.utils.crypto import salted_hmac

from messaging.models import ApiKey, App, Membership

SALT = "parley.messaging.author"


@dataclass(frozen=True)
class Author:
    """A business message's author: `id` goes on the wire (`authorId`),
    `name` is what the dashboard shows beside the message."""

    id: str
    name: str


def _opaque(kind: str, pk) -> str:
    return salted_hmac(SALT, f"{kind}:{pk}", algorithm="sha256").hexdigest()[:24]


def for_key(key: ApiKey) -> Author:
    """An API key (app or account scope) that sent through the API."""
    return Author(_opaque("key", key.pk), key.name or f"API key …{key.secret_last4}")


def for_member(membership: Membership) -> Author:
    """A team member who sent from the dashboard (one id per membership)."""
    return Author(_opaque("member", membership.pk), membership.user.get_full_name())


def for_app(app: App) -> Author:
    """No identified sender: the app itself, as every business message
    stored before authors were recorded (the app's `_id`, as Parley showed)."""
    return Author(app.id, "")
