"""Websocket routes of the dashboard. They authenticate with the session
cookie, so only pages of Parley's own hosts may open them."""

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from dashboard.consumers import DashboardEventsConsumer


def session_socket(consumer):
    return AllowedHostsOriginValidator(AuthMiddlewareStack(consumer.as_asgi()))


websocket_urlpatterns = [
    path("ws/dashboard/events/<str:app_id>/", session_socket(DashboardEventsConsumer)),
]
