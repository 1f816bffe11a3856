"""Which clients get a business message, and why (DESIGN.md, "The delivery
engine"; reference/channel-capabilities.md):

1. a `destination` (integrationType / integrationId): that channel only;
2. otherwise the preferred client: the most recent `lastSeen` among the
   user's active, confirmed clients;
3. a silent copy (no notification) to every other client that can receive
   without one (web widget, SDKs, Messenger NO_PUSH);
4. failover (messaging.delivery.failover) when the preferred channel cannot push.
"""

from dataclasses import dataclass

from django.db import connection

from messaging.integrations.registry import capabilities
from messaging.models import Client, Purpose
from messaging.services.errors import ServiceError


class NoClientForDestination(ServiceError):
    """The business targeted a channel the user has no client on (400,
    nothing is stored: raised inside the storing transaction)."""

    status = 400
    code = "bad_request"


@dataclass(frozen=True)
class Target:
    client: Client
    purpose: str
    notify: bool


def live_clients(app_user) -> list[Client]:
    """The clients a message can go to (active, confirmed), most recently
    seen first. Plain SQL through `raw()`: every business message asks, and
    the ORM spent more than twice the CPU building the query (0.62 ms
    against 0.23 ms, measured in process on PostgreSQL)."""
    table = connection.ops.quote_name(Client._meta.db_table)
    return list(Client.objects.raw(
        f"SELECT * FROM {table} WHERE app_user_id = %s AND active AND NOT pending"
        " ORDER BY last_seen DESC, linked_at DESC, id",
        [app_user.pk],
    ))


def live_clients_of(app_user_ids) -> dict[str, list[Client]]:
    """live_clients() for many users in one query (a batch of failover
    checks): {app user id: their live clients, most recently seen first}."""
    by_user = {app_user_id: [] for app_user_id in app_user_ids}
    for client in Client.objects.filter(app_user_id__in=list(by_user), active=True, pending=False).order_by(
        "-last_seen", "-linked_at", "id"
    ):
        by_user[client.app_user_id].append(client)
    return by_user


def resolve_destination(destination: dict, clients: list[Client]) -> Client:
    """The client among the user's live `clients` that `destination` names
    (its shape was checked with the request body), or NoClientForDestination.
    The one check that the user has a client there: the caller passes the
    clients it read, so a send reads them once."""
    integration_id = destination.get("integrationId")
    integration_type = destination.get("integrationType")
    client = next((c for c in clients
                   if (not integration_id or c.integration_id == integration_id)
                   and (not integration_type or c.platform == integration_type)), None)
    if client is None:
        if integration_type:
            raise NoClientForDestination(f"destination: this user has no active {integration_type} client.")
        raise NoClientForDestination(f"destination: this user has no active client on integration "
                                     f"{integration_id}.")
    return client


def plan(app_user, destination: dict | None, clients: list | None = None) -> list[Target]:
    """The deliveries to create now for a new business message (failover
    comes later). Empty when the user has no client yet. `clients`: the
    user's live clients when the caller has them already."""
    if clients is None:
        clients = live_clients(app_user)
    if destination:
        return [Target(resolve_destination(destination, clients), Purpose.DESTINATION, True)]
    if not clients:
        return []
    preferred, others = clients[0], clients[1:]
    targets = [Target(preferred, Purpose.PREFERRED, True)]
    targets += [Target(c, Purpose.SILENT, False) for c in others if capabilities(c.platform).silent]
    return targets


def can_push(client) -> bool:
    return capabilities(client.platform).push
