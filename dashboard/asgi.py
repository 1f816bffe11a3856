"""ASGI entry point: HTTP through Django, websockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from dashboard.routing import websocket_urlpatterns as dashboard_ws  # noqa: E402
from messaging.publisher import capture_loop  # noqa: E402
from messaging.routing import websocket_urlpatterns as sdk_ws  # noqa: E402

# capture_loop: threads of this process publish their broadcasts on the
# server's event loop (messaging.publisher).
application = capture_loop(ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Dashboard sockets use the session (same-origin only); the SDK
        # socket is opened from any origin and authenticates with the app token.
        "websocket": URLRouter([*dashboard_ws, *sdk_ws]),
    }
))
