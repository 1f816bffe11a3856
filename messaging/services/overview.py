"""Figures of an app's Overview tab: messages per day by direction and
channel, delivery success and failures by channel, failover rate. Each is a
grouped count over an indexed range (message_app_time), computed on demand."""

from datetime import timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from messaging.models import Delivery, DeliveryState, Message, Purpose

DONE_STATES = (DeliveryState.SENT, DeliveryState.DELIVERED, DeliveryState.READ)


def overview(app, *, days: int = 14, now=None) -> dict:
    now = now or timezone.now()
    today = now.date()
    start_day = today - timedelta(days=days - 1)
    since = now - timedelta(days=days)
    messages = Message.objects.filter(app=app, received__gte=since)

    day_list = [start_day + timedelta(days=i) for i in range(days)]
    per_day = {d: {"appUser": 0, "appMaker": 0} for d in day_list}
    for row in (
        messages.annotate(day=TruncDate("received")).values("day", "role").annotate(n=Count("id")).order_by()
    ):
        if row["day"] in per_day:
            per_day[row["day"]][row["role"]] = row["n"]

    # Per day and channel: user messages by the channel they came from,
    # business messages by the channel of their first (non-silent) delivery.
    in_by_day_channel = {d: {} for d in day_list}
    for row in (
        messages.filter(role="appUser")
        .annotate(day=TruncDate("received"))
        .values("day", "source__type")
        .annotate(n=Count("id"))
        .order_by()
    ):
        if row["day"] in in_by_day_channel:
            key = row["source__type"] or "api"
            in_by_day_channel[row["day"]][key] = in_by_day_channel[row["day"]].get(key, 0) + row["n"]
    out_by_day_channel = {d: {} for d in day_list}
    for row in (
        Delivery.objects.filter(message__app=app, message__received__gte=since)
        .exclude(purpose=Purpose.SILENT)
        .annotate(day=TruncDate("message__received"))
        .values("day", "client__platform")
        .annotate(n=Count("message_id", distinct=True))
        .order_by()
    ):
        if row["day"] in out_by_day_channel:
            out_by_day_channel[row["day"]][row["client__platform"]] = row["n"]

    inbound_by_channel: dict[str, int] = {}
    for row in messages.filter(role="appUser").values("source__type").annotate(n=Count("id")).order_by():
        key = row["source__type"] or "api"
        inbound_by_channel[key] = inbound_by_channel.get(key, 0) + row["n"]

    deliveries = Delivery.objects.filter(message__app=app, message__received__gte=since)
    by_channel: dict[str, dict] = {}
    for row in deliveries.values("client__platform", "state", "purpose").annotate(n=Count("id")).order_by():
        platform = row["client__platform"]
        entry = by_channel.setdefault(
            platform, {"platform": platform, "total": 0, "ok": 0, "failed": 0, "queued": 0, "outbound": 0}
        )
        entry["total"] += row["n"]
        if row["state"] in DONE_STATES:
            entry["ok"] += row["n"]
        elif row["state"] == DeliveryState.FAILED:
            entry["failed"] += row["n"]
        else:
            entry["queued"] += row["n"]
        if row["purpose"] != Purpose.SILENT:
            entry["outbound"] += row["n"]
    for entry in by_channel.values():
        finished = entry["ok"] + entry["failed"]
        entry["success_rate"] = entry["ok"] / finished if finished else None

    business = messages.filter(role="appMaker")
    business_count = business.count()
    failed_over = business.filter(deliveries__purpose=Purpose.FAILOVER).distinct().count()
    totals_ok = sum(e["ok"] for e in by_channel.values())
    totals_failed = sum(e["failed"] for e in by_channel.values())
    return {
        "days": days,
        "per_day": [{"day": d, "in": per_day[d]["appUser"], "out": per_day[d]["appMaker"]} for d in day_list],
        "in_per_day_by_channel": [{"day": d, **in_by_day_channel[d]} for d in day_list],
        "out_per_day_by_channel": [{"day": d, **out_by_day_channel[d]} for d in day_list],
        "in_channels": sorted({c for counts in in_by_day_channel.values() for c in counts}),
        "out_channels": sorted({c for counts in out_by_day_channel.values() for c in counts}),
        "inbound_by_channel": dict(sorted(inbound_by_channel.items())),
        "deliveries_by_channel": sorted(by_channel.values(), key=lambda e: e["platform"]),
        "business_messages": business_count,
        "failed_over": failed_over,
        "failover_rate": failed_over / business_count if business_count else None,
        "success_rate": totals_ok / (totals_ok + totals_failed) if totals_ok + totals_failed else None,
        "failures": totals_failed,
    }
