from django.contrib.auth import views as auth_views
from django.urls import path

from dashboard.forms import LoginForm, NewPasswordForm
from dashboard.views import accounts, apps, home, integrations, team, webhooks
from dashboard.views.accounts import limited_per_address
from messaging import ratelimits

# A webhook's pages.
W = "apps/<str:app_id>/webhooks/<str:webhook_id>/"

urlpatterns = [
    # Accounts: Django's auth views with Parley's templates.
    path(
        "login/",
        limited_per_address(ratelimits.SIGN_IN)(
            auth_views.LoginView.as_view(
                template_name="dashboard/login.html",
                authentication_form=LoginForm,
                redirect_authenticated_user=True,
            )
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", accounts.sign_up, name="signup"),
    path(
        "password-reset/",
        limited_per_address(ratelimits.PASSWORD_RESET)(auth_views.PasswordResetView.as_view()),
        name="password_reset",
    ),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(post_reset_login=True, form_class=NewPasswordForm),
        name="password_reset_confirm",
    ),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("invite/<str:token>/", accounts.accept_invitation, name="accept_invitation"),
    # Home and teams.
    path("", home.home, name="home"),
    path("teams/new/", home.create_team, name="team_create"),
    path("teams/<int:team_id>/", team.team_members, name="team"),
    path("teams/<int:team_id>/invite/", team.invite, name="team_invite"),
    path(
        "teams/<int:team_id>/invitations/<int:invitation_id>/cancel/",
        team.cancel_invitation,
        name="team_invitation_cancel",
    ),
    path("teams/<int:team_id>/members/<int:member_id>/role/", team.change_role, name="team_member_role"),
    path(
        "teams/<int:team_id>/members/<int:member_id>/remove/",
        team.remove_member,
        name="team_member_remove",
    ),
    path("teams/<int:team_id>/settings/", team.team_settings, name="team_settings"),
    path("teams/<int:team_id>/settings/name/", team.rename_team, name="team_rename"),
    path("teams/<int:team_id>/audit/", team.audit_log, name="team_audit"),
    path("teams/<int:team_id>/keys/", team.create_account_key, name="team_key_create"),
    path("teams/<int:team_id>/keys/<str:key_id>/revoke/", team.revoke_account_key, name="team_key_revoke"),
    path("teams/<int:team_id>/service-accounts/", team.create_service_account, name="team_service_account_create"),
    path(
        "teams/<int:team_id>/service-accounts/<str:service_account_id>/delete/",
        team.delete_service_account,
        name="team_service_account_delete",
    ),
    path(
        "teams/<int:team_id>/service-accounts/<str:service_account_id>/keys/",
        team.create_service_account_key,
        name="team_service_account_key_create",
    ),
    path(
        "teams/<int:team_id>/service-accounts/<str:service_account_id>/keys/<str:key_id>/revoke/",
        team.revoke_service_account_key,
        name="team_service_account_key_revoke",
    ),
    path("teams/<int:team_id>/apps/new/", apps.new_app, name="app_create"),
    # Apps. Other tabs (users, conversations, log...) add their paths here.
    path("apps/<str:app_id>/", apps.app_home, name="app"),
    path("apps/<str:app_id>/settings/", apps.app_settings, name="app_settings"),
    path("apps/<str:app_id>/settings/name/", apps.rename_app, name="app_rename"),
    path("apps/<str:app_id>/settings/user-jwt/", apps.set_require_user_jwt, name="app_require_user_jwt"),
    path("apps/<str:app_id>/delete/", apps.delete_app, name="app_delete"),
    path("apps/<str:app_id>/keys/", apps.create_app_key, name="app_key_create"),
    path("apps/<str:app_id>/keys/<str:key_id>/revoke/", apps.revoke_app_key, name="app_key_revoke"),
    # An app's channels (integrations).
    path("apps/<str:app_id>/integrations/", integrations.integration_list, name="app_integrations"),
    path("apps/<str:app_id>/integrations/new/", integrations.choose_type, name="app_integration_new"),
    path("apps/<str:app_id>/integrations/new/<str:type_>/", integrations.create, name="app_integration_create"),
    path("apps/<str:app_id>/integrations/<str:integration_id>/", integrations.integration_page,
         name="app_integration"),
    path("apps/<str:app_id>/integrations/<str:integration_id>/check/", integrations.check_connection,
         name="app_integration_check"),
    path("apps/<str:app_id>/integrations/<str:integration_id>/edit/", integrations.edit,
         name="app_integration_edit"),
    path("apps/<str:app_id>/integrations/<str:integration_id>/delete/", integrations.delete,
         name="app_integration_delete"),
    # An app's webhooks.
    path("apps/<str:app_id>/webhooks/", webhooks.webhook_list, name="app_webhooks"),
    path("apps/<str:app_id>/webhooks/new/", webhooks.create, name="app_webhook_create"),
    path(W, webhooks.webhook_page, name="app_webhook"),
    path(W + "edit/", webhooks.edit, name="app_webhook_edit"),
    path(W + "enable/", webhooks.enable, name="app_webhook_enable"),
    path(W + "delete/", webhooks.delete, name="app_webhook_delete"),
    path(W + "secrets/", webhooks.reveal, name="app_webhook_reveal"),
    path(W + "secrets/rotate/", webhooks.rotate_secret, name="app_webhook_rotate_secret"),
    path(W + "signing-secret/rotate/", webhooks.rotate_signing_secret, name="app_webhook_rotate_signing_secret"),
    path(W + "test/", webhooks.send_test, name="app_webhook_test"),
    path(W + "events/", webhooks.events, name="app_webhook_events"),
    path(W + "events/<int:event_id>/redeliver/", webhooks.redeliver, name="app_webhook_redeliver"),
    path(W + "redeliver/", webhooks.redeliver_since, name="app_webhook_redeliver_since"),
]
