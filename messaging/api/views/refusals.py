"""What Parley deliberately does not do, answered as such: after the usual
authentication, a 501 with the Smooch error body whose description names
what to use instead, rather than the catch-all "No API route" 404 (which
would read as a Parley bug to an integration written for Smooch).

- Stripe payments (`stripe/account`, `appusers/{id}/stripe/*`): Parley
  takes no payments; a link action to the business's own checkout does.
- WeChat QR codes: Parley has no WeChat channel.
- Smooch-hosted WhatsApp `deployments`: Parley connects the WhatsApp Cloud
  API directly, as a `whatsapp` integration.
"""

from messaging.api.auth import api_view, error_response

STRIPE = ("Parley does not take payments through Stripe: send a link action (type \"link\") to your own "
          "checkout page instead.")
WECHAT = "Parley has no WeChat channel: link the user on a channel Parley supports (GET /v1/integrations lists yours)."
DEPLOYMENTS = ("Parley does not host WhatsApp deployments: connect your WhatsApp Cloud API number with "
               "POST /v1/integrations {\"type\": \"whatsapp\", ...} instead.")


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
