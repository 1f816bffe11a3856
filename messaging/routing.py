"""Websocket routes of the SDK protocol (app-token authenticated)."""

from django.urls import path

from messaging.consumers import SdkConsumer

websocket_urlpatterns = [
    path("sdk/ws/", SdkConsumer.as_asgi()),
]
