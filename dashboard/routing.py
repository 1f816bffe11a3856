"""Websocket routes of the dashboard. They authenticate with the session
cookie, so only Parley's own pages may open them: same scheme, host and
port (dashboard.socket_origin)."""

from channels.auth import AuthMiddlewareStack
from django.urls import path

from dashboard.consumers import DashboardEventsConsumer
from dashboard.socket_origin import SameOriginValidator


def session_socket(consumer):
    return SameOriginValidator(AuthMiddlewareStack(consumer.as_asgi()))


websocket_urlpatterns = [
    path("ws/dashboard/events/<str:app_id>/", session_socket(DashboardEventsConsumer)),
]
