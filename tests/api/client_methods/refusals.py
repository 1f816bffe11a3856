"""What Parley deliberately does not do (messaging/api/views/refusals.py):
Stripe, WeChat QR codes, Smooch-hosted WhatsApp deployments. Each call is
authenticated first (a key of another team gets what any call gets), then
answered 501 with the Smooch error body naming the alternative; nothing is
stored."""

from messaging.models import Message
from tests.api.client_methods import case

BOTH = ("v3", "v8")


def refused(answer, alternative):
    assert (answer.status, answer.code) == (501, "not_implemented"), answer
    assert alternative in answer.body["error"]["description"], answer


@case(*(f"{c} stripe.getAccount" for c in BOTH))
def stripe_account(t, client):
    refused(t.call(client, "stripe.getAccount"), "link action")


@case(*(f"{c} appUsers.stripe.updateCustomer" for c in BOTH))
def stripe_customer(t, client):
    user = t.user("alice")
    refused(t.call(client, "appUsers.stripe.updateCustomer", user.user_id, "tok_visa"), "link action")
    # Another team's app user is not found before anything is refused.
    theirs = t.other()
    assert theirs.call(client, "appUsers.stripe.updateCustomer", user.user_id, "tok_visa").status == 404


@case(*(f"{c} appUsers.stripe.createTransaction" for c in BOTH))
def stripe_transaction(t, client):
    user = t.user("alice")
    refused(t.call(client, "appUsers.stripe.createTransaction", user.user_id, "action-1", "tok_visa"),
            "link action")
    assert not Message.objects.filter(app_user=user).exists()


@case(*(f"{c} appUsers.wechat.getQRCode" for c in BOTH))
def wechat(t, client):
    user = t.user("alice")
    refused(t.call(client, "appUsers.wechat.getQRCode", user.user_id), "WeChat")


DEPLOYMENT_CALLS = {
    "create": ({"hosting": "smooch", "callbackUrl": "https://hooks.example/wa"},),
    "list": (),
    "get": ("dep_1",),
    "activate": ("dep_1", "certificate", "+15145550100", "sms"),
    "confirmCode": ("dep_1", "123456"),
    "delete": ("dep_1",),
}


def _deployment_case(name):
    @case(f"v8 deployments.{name}")
    def deployment(t, client):
        args = DEPLOYMENT_CALLS[name]
        refused(t.call(client, f"deployments.{name}", *args, as_="account"), "whatsapp")
        # An app key is not an account credential.
        assert t.call(client, f"deployments.{name}", *args).status in (401, 403)

    return deployment


for _name in DEPLOYMENT_CALLS:
    _deployment_case(_name)
