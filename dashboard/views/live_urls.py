"""Routes of the live dashboard: the inbox, users, conversations, composer, Log tab, overview."""

from django.urls import path

from dashboard.views import appusers, canned, conversations, inbox, logs, overview

U = "apps/<str:app_id>/users/<str:user_id>/"
INBOX = "apps/<str:app_id>/inbox/"

urlpatterns = [
    path(INBOX, inbox.inbox_page, name="live_inbox"),
    path(INBOX + "<str:view>/", inbox.inbox_page, name="live_inbox_view"),
    path(INBOX + "<str:view>/<str:user_id>/", inbox.inbox_page, name="live_inbox_conversation"),
    path(INBOX + "<str:view>/<str:user_id>/status/", inbox.change_status, name="live_inbox_status"),
    path(INBOX + "<str:view>/<str:user_id>/assign/", inbox.assign, name="live_inbox_assign"),
    path("apps/<str:app_id>/overview/", overview.overview, name="live_overview"),
    path("apps/<str:app_id>/users/", appusers.user_list, name="live_users"),
    path("apps/<str:app_id>/users/new/", appusers.create_user, name="live_user_create"),
    path(U, conversations.conversation, name="live_conversation"),
    path(U + "messages/", conversations.message_list, name="live_messages"),
    path(U + "messages/<str:message_id>/", conversations.message_item, name="live_message"),
    path(U + "send/", conversations.send, name="live_send"),
    path(U + "typing/", conversations.typing, name="live_typing"),
    path(U + "avatar/", conversations.avatar, name="live_avatar"),
    path(U + "deliveries/<int:delivery_id>/resend/", conversations.resend, name="live_resend"),
    path("apps/<str:app_id>/canned/", canned.canned_replies, name="live_canned"),
    path("apps/<str:app_id>/canned/<str:template_id>/delete/", canned.delete_canned_reply, name="live_canned_delete"),
    path("apps/<str:app_id>/log/", logs.log_tab, name="live_log"),
    path("apps/<str:app_id>/log/retention/", logs.retention, name="live_log_retention"),
]
