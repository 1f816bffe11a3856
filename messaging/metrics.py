"""Prometheus metrics (prometheus-client): what GET /metrics shows.

Counted where things happen, in whichever process does them:
- messages in and out by channel, deliveries by state and channel, and
  failovers, all from the events every change emits (`record_events`,
  called by messaging.events after commit: nothing counts a rolled-back
  change);
- webhook attempts by outcome (messaging.webhooks.sender);
- open websocket connections by kind (the SDK and dashboard consumers);
- request latency by route group (`RequestMetricsMiddleware`).
Read from the database at scrape time (`QueueCollector`): the task queue's
depth and the age of its oldest item, and deliveries that are due but
claimed by no worker.

Several processes on one host share their figures through prometheus-
client's multiprocess mode: set PROMETHEUS_MULTIPROC_DIR to an empty
directory (emptied at each start) for every process; /metrics then sums
them. Without it, /metrics shows its own process (the embedded defaults).
"""

import os
import time

from django.db.models import Min
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY

from messaging.models import Delivery, DeliveryState

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Made when missing (the first process of a host after a reboot).
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

MESSAGES = Counter("parley_messages", "Messages in (from users) and out (sent to a client), by channel",
                   ["direction", "channel"])
DELIVERIES = Counter("parley_deliveries", "Delivery state changes, by the state reached and the channel",
                     ["state", "channel"])
FAILOVERS = Counter("parley_failovers", "Failovers started")
WEBHOOK_ATTEMPTS = Counter("parley_webhook_attempts", "Webhook attempts, by outcome", ["outcome"])
SOCKETS = Gauge("parley_websockets_open", "Open websocket connections, by kind (sdk, dashboard)", ["kind"],
                multiprocess_mode="livesum")
LATENCY = Histogram("parley_request_seconds", "HTTP request latency, by route group", ["group"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))

# Event kind -> the delivery state it reports.
DELIVERY_STATES = {
    "delivery:queued": "queued",
    "delivery:success": "sent",
    "delivery:delivered": "delivered",
    "delivery:read": "read",
    "delivery:failure": "failed",
    "delivery:retry": "retry",
}

# Path prefix -> route group (the first that matches; else "dashboard").
ROUTE_GROUPS = (
    ("/v1/", "api"), ("/v1.1/", "api"), ("/integrations/", "platform_webhooks"), ("/media/", "media"),
    ("/static/", "static"), ("/demo/", "widget"), ("/healthz", "ops"), ("/readyz", "ops"), ("/metrics", "ops"),
)


def record_events(events: list[dict]) -> None:
    for event in events:
        kind, detail = event.get("kind"), event.get("detail") or {}
        if kind == "message:appUser":
            source = ((detail.get("message") or {}).get("source") or {}).get("type") or "api"
            MESSAGES.labels("in", source).inc()
        elif kind in DELIVERY_STATES:
            channel = detail.get("platform") or "unknown"
            DELIVERIES.labels(DELIVERY_STATES[kind], channel).inc()
            if kind == "delivery:success":
                MESSAGES.labels("out", channel).inc()
        elif kind == "failover":
            FAILOVERS.inc()


def route_group(path: str) -> str:
    for prefix, group in ROUTE_GROUPS:
        if path.startswith(prefix):
            return group
    return "dashboard"


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        try:
            return self.get_response(request)
        finally:
            LATENCY.labels(route_group(request.path)).observe(time.perf_counter() - started)


class QueueCollector:
    """What the database says at scrape time: the task queue (django-tasks'
    ready rows) and the deliveries due that no worker holds."""

    def describe(self):
        return []  # registering must not query the database

    def collect(self):
        now = timezone.now()
        ready = DBTaskResult.objects.ready()
        oldest = ready.aggregate(oldest=Min("enqueued_at"))["oldest"]
        depth = GaugeMetricFamily("parley_task_queue_depth", "Tasks ready to run")
        depth.add_metric([], ready.count())
        age = GaugeMetricFamily("parley_task_queue_oldest_seconds", "Age of the oldest ready task (0: none)")
        age.add_metric([], (now - oldest).total_seconds() if oldest else 0.0)
        unclaimed = Delivery.objects.filter(state=DeliveryState.QUEUED, next_attempt_at__lte=now).exclude(
            claimed_until__gt=now)
        due = GaugeMetricFamily("parley_deliveries_due_unclaimed", "Queued deliveries due and held by no worker")
        due.add_metric([], unclaimed.count())
        return [depth, age, due]


REGISTRY.register(QueueCollector())


def exposition() -> bytes:
    """The text format of every metric: all processes' in multiprocess mode
    (a registry per scrape, as prometheus-client's multiprocess mode asks)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    registry.register(QueueCollector())
    return generate_latest(registry)
