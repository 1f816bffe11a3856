"""Routes of the Web Messenger's dashboard pages (widget settings, demo page)."""

urlpatterns = []
