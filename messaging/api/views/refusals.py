"""What Parley deliberately does not do, answered as such: after the usual
authentication, a 501 with the Smooch error body whose description names
what to use instead, rather than the catch-all "No API route" 404 (which
would read as a Parley bug to an integration written for Smooch).

- Stripe payments (`stripe/account`, `appusers/{id}/stripe/*`): Parley
  takes no payments; a link action to the business's own checkout does.
- WeChat QR codes: Parley has no WeChat channel.
- Smooch-hosted WhatsApp `deployments`: Parley connects the WhatsApp Cloud
  API directly, as a `whatsapp` integration.
- Integrations of types `apn` and `fcm` (push to native iOS and Android
  apps), `twitter` and `messagebird` (REFUSED_INTEGRATIONS): creating one
  names the channel to use instead.
"""

from django.http import JsonResponse

from messaging.api.auth import api_view, error_response

STRIPE = ("Parley does not take payments through Stripe: send a link action (type \"link\") to your own "
          "checkout page instead.")
WECHAT = "Parley has no WeChat channel: link the user on a channel Parley supports (GET /v1/integrations lists yours)."
DEPLOYMENTS = ("Parley does not host WhatsApp deployments: connect your WhatsApp Cloud API number with "
               "POST /v1/integrations {\"type\": \"whatsapp\", ...} instead.")

NATIVE_PUSH = ("Parley does not send push notifications to native {os} apps ({service}): reach the user on the "
               "Web Messenger (it runs in an app's web view too) or on a messaging channel such as messenger, "
               "telegram, whatsapp or twilio.")
REFUSED_INTEGRATIONS = {
    "apn": NATIVE_PUSH.format(os="iOS", service="APNs"),
    "fcm": NATIVE_PUSH.format(os="Android", service="FCM"),
    "twitter": ("Parley has no Twitter (X) channel: connect one it supports instead, such as messenger, "
                "telegram or whatsapp (GET /v1/integrations lists yours)."),
    "messagebird": ("Parley has no MessageBird channel: send SMS through a twilio integration, or WhatsApp "
                    "through a whatsapp integration, instead."),
}


def _refused(description: str):
    return error_response(501, "not_implemented", description)


@api_view(scope="app")
def stripe_account(request):
    return _refused(STRIPE)


@api_view(user=True)
def stripe_for_user(request):
    return _refused(STRIPE)


@api_view(user=True)
def wechat_qrcode(request):
    return _refused(WECHAT)


@api_view(scope="account")
def deployments(request, deploymentId=None):
    return _refused(DEPLOYMENTS)


def refused_integration(body) -> JsonResponse | None:
    """The 501 for creating an integration of a type Parley deliberately
    does not connect, None for any other body (validated as usual)."""
    type_ = body.get("type") if isinstance(body, dict) else None
    if isinstance(type_, str) and type_ in REFUSED_INTEGRATIONS:
        return _refused(REFUSED_INTEGRATIONS[type_])
    return None
