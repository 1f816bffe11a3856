from django.contrib import admin
from django.urls import include, path

from dashboard.views import email_links, health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics_view, name="metrics"),
    path("v1/", include("messaging.api.urls")),
    path("v1.1/", include("messaging.api.urls")),
    path("media/", include("messaging.api.media")),
    # Inbound platform webhooks (Telegram, Twilio...): one URL per integration.
    path("integrations/", include("messaging.api.platform_webhooks")),
    # The signed link of an email link confirmation.
    path("integrations/email/confirm/<str:token>", email_links.confirm, name="email_link_confirm"),
    # Widget settings and the demo page (Web Messenger work).
    path("", include("dashboard.views.widget_urls")),
    # Live conversations, Log tab, overview (dashboard work).
    path("", include("dashboard.views.live_urls")),
    path("", include("dashboard.views.urls")),
]
