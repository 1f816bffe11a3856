"""Websocket routes of the dashboard, under /ws/dashboard/ (session-authenticated)."""

from django.urls import path

from dashboard.consumers import DashboardEventsConsumer

websocket_urlpatterns = [
    path("events/<str:app_id>/", DashboardEventsConsumer.as_asgi()),
]
