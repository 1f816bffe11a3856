"""Routes of the Web Messenger's dashboard pages (widget settings, demo page)."""

from django.urls import path

from dashboard.views import widget

urlpatterns = [
    path("apps/<str:app_id>/widget/", widget.widget_settings, name="app_widget"),
    path("demo/<str:app_id>/", widget.demo, name="widget_demo"),
]
