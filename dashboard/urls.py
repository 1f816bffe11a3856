from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("v1/", include("messaging.api.urls")),
    path("v1.1/", include("messaging.api.urls")),
    path("media/", include("messaging.api.media")),
    # Inbound platform webhooks (Telegram, Twilio...): one URL per integration.
    path("integrations/", include("messaging.api.platform_webhooks")),
    # Widget settings and the demo page (Web Messenger work).
    path("", include("dashboard.views.widget_urls")),
    # Live conversations, Log tab, overview (dashboard work).
    path("", include("dashboard.views.live_urls")),
    path("", include("dashboard.views.urls")),
]
