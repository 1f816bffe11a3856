"""REST API routes (Smooch v1), mounted at /v1/ and /v1.1/.

Every app-level route exists twice: at /v1/... for app and appUser
credentials, and at /v1/apps/{appId}/... for account-scope keys. Groups are
named as the OpenAPI document's path parameters (tests compare the two).
The team's own routes (apps and their keys, account-scope keys only) are
ACCOUNT_ROUTES, at /v1/apps and /v1/apps/{appId}/{sdks,keys...}, and the
team's service accounts at /v1/serviceaccounts....
Any other path under the prefix is a JSON 404.
"""

from django.urls import re_path

from messaging.api.auth import route
from messaging.api.views import (
    apps,
    appusers,
    attachments,
    conversation,
    images,
    init,
    integrations,
    menus,
    messages,
    misc,
    notifications,
    refusals,
    service_accounts,
    templates,
    webhooks,
    whatsapp,
)

SEG = r"[^/]+"
USER = rf"app[uU]sers/(?P<appUserId>{SEG})"
WEBHOOK = rf"webhooks/(?P<webhookId>{SEG})"

APP_ROUTES = [
    (r"app[uU]sers", route(POST=appusers.create)),
    # Before USER: a user whose userId is "merge" is reached by its _id.
    (r"app[uU]sers/merge", route(POST=appusers.merge)),
    (USER, route(GET=appusers.get, PUT=appusers.update, DELETE=appusers.delete)),
    (rf"{USER}/profile", route(DELETE=appusers.delete_profile)),
    (rf"{USER}/events", route(POST=appusers.track_event)),
    (rf"{USER}/devices/(?P<deviceId>{SEG})", route(PUT=appusers.update_device)),
    (rf"{USER}/channels", route(GET=appusers.list_channels, POST=appusers.link_channel)),
    (rf"{USER}/channels/(?P<channel>{SEG})", route(DELETE=appusers.unlink_channel)),
    (
        rf"{USER}/messages",
        route(GET=messages.list_messages, POST=messages.post, DELETE=messages.delete_all),
    ),
    (rf"{USER}/messages/(?P<messageId>{SEG})", route(DELETE=messages.delete_one)),
    (
        rf"{USER}/messages/(?P<messageId>{SEG})/deliveries/(?P<deliveryId>{SEG})/resend",
        route(POST=messages.resend),
    ),
    (rf"{USER}/integrations/viber/qrcode", route(GET=appusers.viber_qrcode)),
    (rf"{USER}/integrations/(?P<channel>{SEG})/ping", route(POST=appusers.ping_channel)),
    (rf"{USER}/linkrequest", route(GET=appusers.get_link_requests)),
    (rf"{USER}/transferrequest", route(GET=appusers.transfer_request)),
    (rf"{USER}/authcode", route(GET=appusers.auth_code)),
    (rf"{USER}/businesssystems", route(GET=appusers.business_systems)),
    (rf"{USER}/pushToken", route(POST=appusers.update_push_token)),
    (rf"{USER}/integrations/wechat/qrcode", route(GET=refusals.wechat_qrcode)),
    (rf"{USER}/stripe/customer", route(POST=refusals.stripe_for_user)),
    (rf"{USER}/stripe/transaction", route(POST=refusals.stripe_for_user)),
    (r"stripe/account", route(GET=refusals.stripe_account)),
    (rf"{USER}/conversation", route(GET=conversation.get, PATCH=conversation.update)),
    (rf"{USER}/conversation/postback", route(POST=conversation.postback)),
    (rf"{USER}/conversation/read", route(POST=conversation.read)),
    (rf"{USER}/conversation/activity", route(POST=conversation.activity)),
    (rf"{USER}/images", route(POST=images.upload)),
    (r"webhooks", route(GET=webhooks.list_, POST=webhooks.create)),
    (
        WEBHOOK,
        route(GET=webhooks.get, PUT=webhooks.update, DELETE=webhooks.delete),
    ),
    (rf"{WEBHOOK}/events", route(GET=webhooks.list_events)),
    (rf"{WEBHOOK}/events/(?P<eventId>{SEG})/redeliver", route(POST=webhooks.redeliver_event)),
    (rf"{WEBHOOK}/redeliver", route(POST=webhooks.redeliver_failed)),
    (rf"{WEBHOOK}/test", route(POST=webhooks.send_test)),
    (rf"{WEBHOOK}/rotate", route(POST=webhooks.rotate)),
    (r"integrations", route(GET=integrations.list_, POST=integrations.create)),
    (
        rf"integrations/(?P<integrationId>{SEG})",
        route(GET=integrations.get, PUT=integrations.update, DELETE=integrations.delete),
    ),
    (rf"integrations/(?P<integrationId>{SEG})/messageTemplates",
     route(GET=whatsapp.list_templates, POST=whatsapp.create_template)),
    (rf"integrations/(?P<integrationId>{SEG})/messageTemplates/(?P<templateName>{SEG})",
     route(DELETE=whatsapp.delete_template)),
    (rf"integrations/(?P<integrationId>{SEG})/profile", route(GET=whatsapp.get_profile, PUT=whatsapp.update_profile)),
    (rf"integrations/(?P<integrationId>{SEG})/profile/photo", route(PUT=whatsapp.upload_photo)),
    (r"attachments", route(POST=attachments.create)),
    (r"attachments/remove", route(POST=attachments.remove)),
    (rf"integrations/(?P<integrationId>{SEG})/menu",
     route(GET=menus.integration_get, POST=menus.integration_create, PUT=menus.integration_update,
           DELETE=menus.integration_delete)),
    (r"menu", route(GET=menus.get, PUT=menus.configure, DELETE=menus.remove)),
    (r"notifications", route(POST=notifications.post)),
    (r"templates", route(GET=templates.list_, POST=templates.create)),
    (rf"templates/(?P<templateId>{SEG})", route(GET=templates.get, PUT=templates.update, DELETE=templates.delete)),
]

APP = rf"apps/(?P<appId>{SEG})"
KEY = rf"{APP}/keys/(?P<keyId>{SEG})"
SERVICE_ACCOUNT = rf"serviceaccounts/(?P<serviceAccountId>{SEG})"
SERVICE_ACCOUNT_KEY = rf"{SERVICE_ACCOUNT}/keys/(?P<keyId>{SEG})"
ACCOUNT_ROUTES = [
    (r"apps", route(GET=apps.list_, POST=apps.create)),
    (APP, route(GET=apps.get, PUT=apps.update, DELETE=apps.delete)),
    (rf"{APP}/sdks", route(GET=apps.sdks)),
    (rf"{APP}/keys", route(GET=apps.list_keys, POST=apps.create_key)),
    (KEY, route(GET=apps.get_key, DELETE=apps.delete_key)),
    (rf"{KEY}/jwt", route(GET=apps.key_jwt)),
    (r"serviceaccounts", route(GET=service_accounts.list_, POST=service_accounts.create)),
    (SERVICE_ACCOUNT, route(GET=service_accounts.get, PUT=service_accounts.update, DELETE=service_accounts.delete)),
    (rf"{SERVICE_ACCOUNT}/keys", route(GET=service_accounts.list_keys, POST=service_accounts.create_key)),
    (SERVICE_ACCOUNT_KEY, route(GET=service_accounts.get_key, DELETE=service_accounts.delete_key)),
    (rf"{SERVICE_ACCOUNT_KEY}/jwt", route(GET=service_accounts.key_jwt)),
    (r"whatsapp/deployments", route(GET=refusals.deployments, POST=refusals.deployments)),
    (rf"whatsapp/deployments/(?P<deploymentId>{SEG})", route(GET=refusals.deployments, DELETE=refusals.deployments)),
    (rf"whatsapp/deployments/(?P<deploymentId>{SEG})/activate", route(POST=refusals.deployments)),
    (rf"whatsapp/deployments/(?P<deploymentId>{SEG})/code/confirm", route(POST=refusals.deployments)),
]

urlpatterns = [
    re_path(r"^init$", route(POST=init.init)),
    re_path(r"^ping$", misc.ping),
    re_path(r"^openapi\.json$", misc.openapi_json),
    *[re_path(rf"^{pattern}$", view) for pattern, view in APP_ROUTES],
    *[re_path(rf"^apps/(?P<appId>{SEG})/{pattern}$", view) for pattern, view in APP_ROUTES],
    *[re_path(rf"^{pattern}$", view) for pattern, view in ACCOUNT_ROUTES],
    re_path(r"^(?P<rest>.*)$", misc.unknown),
]
