"""ASGI entry point: HTTP through Django, websockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from dashboard.routing import websocket_urlpatterns as dashboard_ws  # noqa: E402
from messaging.routing import websocket_urlpatterns as sdk_ws  # noqa: E402

# The session-authenticated dashboard sockets. The middleware hides the
# inner URLRouter from the outer one, so mark the stack as routing by path:
# "ws/dashboard/" is then a prefix (like include()), not a whole path.
dashboard_sockets = AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(dashboard_ws)))
dashboard_sockets._path_routing = True

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(
            [
                # The dashboard socket authenticates with the session cookie,
                # so only pages of Parley's own hosts may open it.
                path("ws/dashboard/", dashboard_sockets),
                # The SDK socket is opened from other origins (the widget is
                # embedded anywhere) and authenticates with the app token.
                *sdk_ws,
            ]
        ),
    }
)
