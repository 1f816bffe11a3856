"""Websocket routes of the SDK protocol (app-token authenticated)."""

websocket_urlpatterns = []
