"""Websocket routes of the dashboard, under /ws/dashboard/ (session-authenticated)."""

websocket_urlpatterns = []
