"""An app's Overview: messages per day, delivery success and failures by
channel, failover rate, as inline SVG charts rendered on the server; and
the webhooks that keep failing or are disabled, each linked to its page.
Live: static/dashboard/overview.js fetches the #overview-figures part again
after the app's events."""

from django.contrib.auth.decorators import login_required
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dashboard import charts
from dashboard.views import access
from dashboard.views.appusers import app_context
from dashboard.views.htmx import render_part
from messaging.services import webhook_config
from messaging.services.overview import overview as overview_figures


@never_cache
@login_required
@require_GET
def overview(request, app_id):
    app = access.app_for(request.user, app_id)
    figures = overview_figures(app)
    per_day = charts.grouped_bars(
        "Messages per day", figures["per_day"], "day",
        [("in", "From users", "series-in"), ("out", "From the business", "series-out")],
        label=lambda d: d.strftime("%d %b"),
    )
    deliveries = figures["deliveries_by_channel"]
    for row in deliveries:
        row["success_label"] = charts.percent(row["success_rate"])
    by_channel = charts.grouped_bars(
        "Deliveries by channel", deliveries, "platform",
        [("ok", "Sent / delivered / read", "series-ok"), ("failed", "Failed", "series-failed"),
         ("queued", "Queued", "series-queued")],
        height=160,
    )
    inbound = charts.grouped_bars(
        "User messages by channel",
        [{"channel": k, "n": v} for k, v in figures["inbound_by_channel"].items()], "channel",
        [("n", "User messages", "series-in")], height=140,
    )
    in_by_channel = charts.grouped_bars(
        "User messages per day, by channel", figures["in_per_day_by_channel"], "day",
        charts.channel_series(figures["in_channels"]), label=lambda d: d.strftime("%d %b"),
    )
    out_by_channel = charts.grouped_bars(
        "Business messages per day, by channel", figures["out_per_day_by_channel"], "day",
        charts.channel_series(figures["out_channels"]), label=lambda d: d.strftime("%d %b"),
    )
    context = app_context(
        app, "overview", figures=figures,
        charts=[per_day, in_by_channel, out_by_channel, inbound, by_channel],
        success_rate=charts.percent(figures["success_rate"]),
        failover_rate=charts.percent(figures["failover_rate"]),
        webhook_alerts=list(webhook_config.needing_attention(app)),
    )
    # static/dashboard/overview.js refetches the figures (htmx request)
    # when the socket reports an event.
    return render_part(request, "dashboard/live/overview.html", "overview-figures", context)
