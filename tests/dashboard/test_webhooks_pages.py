"""The Webhooks pages with Django's test client: the list (status, the
"keeps failing" flag, the last attempt), create and edit (the API's own
target and trigger rules, bad input as a form error that changes nothing),
the webhook's page (secrets revealed on a click and rotated, a disabled
webhook enabled again, a test event sent to a receiver on 127.0.0.1, the
recent events with their attempts and payloads, re-delivery of one event or
of every failed one since a time), deletion, the overview's flag; who may do
what (owner, admin, agent, another team), and no secret in any page an agent
gets."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.events import SUBSCRIBABLE_TRIGGERS
from messaging.models import Webhook, WebhookAttempt, WebhookEvent
from messaging.services import webhook_config
from messaging.webhooks import sender

TARGET = "https://hooks.example/parley"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def webhook(app):
    return webhook_config.create_webhook(app, target=TARGET, triggers=["message"])


@pytest.fixture
def receiver(platform_server, settings):
    """A receiver on 127.0.0.1 (the session's fake platform, as new)."""
    settings.PARLEY_WEBHOOK_ALLOW_PRIVATE = True
    with platform_server._lock:
        platform_server.requests.clear()
        platform_server._failures.clear()
        platform_server.handler = None
    return platform_server


def url(app, *parts):
    return "/".join([f"/apps/{app.id}/webhooks", *parts]) + "/"


def html(response) -> str:
    return response.content.decode()


def secrets_of(webhook) -> list[str]:
    webhook.refresh_from_db()
    return [s for s in (webhook.secret, webhook.signing_secret, webhook.previous_signing_secret) if s]


def assert_no_secret(response, webhook, *more):
    text = html(response)
    for secret in [*secrets_of(webhook), *more]:
        assert secret not in text


def recorded(webhook, *, trigger="message:appUser", state="failed", created_at=None, attempts=(),
             payload=None):
    """An event with its attempts as the sender records them; `attempts`
    are (status, error, response) tuples."""
    at = created_at or timezone.now()
    event = WebhookEvent.objects.create(app=webhook.app, webhook=webhook, trigger=trigger, state=state,
                                        payload=payload or {"trigger": trigger, "app": {"_id": webhook.app_id}},
                                        attempts=len(attempts), created_at=at)
    for number, (status, error, response) in enumerate(attempts, 1):
        WebhookAttempt.objects.create(event=event, number=number, at=at + timedelta(seconds=number),
                                      status=status, latency_ms=40 + number, response=response, error=error)
    return event


def snapshot():
    return {
        "webhooks": list(Webhook.objects.values_list(
            "id", "target", "triggers", "enabled", "disabled_reason", "secret", "signing_secret",
            "previous_signing_secret").order_by("id")),
        "events": list(WebhookEvent.objects.values_list("id", "state", "attempts", "next_attempt_at")
                       .order_by("id")),
    }


# The list and the tab.


@pytest.mark.django_db
def test_it_lists_webhooks_with_triggers_status_flag_and_last_attempt(owner_client, app, webhook):
    other = webhook_config.create_webhook(app, target="https://other.example/gone", triggers=["*"])
    failing = timezone.now() - timedelta(hours=2)
    Webhook.objects.filter(pk=other.pk).update(enabled=False, failing_since=failing,
                                               disabled_reason="the target answered 410 Gone on 2026-01-02 03:04 UTC")
    recorded(webhook, state="delivered", attempts=[(500, "the target answered 500", "oops"), (200, "", "ok")])
    recorded(other, attempts=[(410, "the target answered 410", "")])
    response = owner_client.get(url(app))
    page = html(response)
    assert response.status_code == 200 and 'aria-current="page">Webhooks</a>' in page
    row = page.split(f'id="webhook-{webhook.id}"')[1].split("</tr>")[0]
    assert f'href="{url(app, webhook.id)}"' in row and TARGET in row and "<code>message</code>" in row
    assert "Enabled" in row and "Keeps failing" not in row
    assert '<span class="state state-delivered">200</span>' in row  # the latest of its attempts
    row = page.split(f'id="webhook-{other.id}"')[1].split("</tr>")[0]
    assert "Disabled" in row and "the target answered 410 Gone on 2026-01-02 03:04 UTC" in row
    assert "Keeps failing" in row and failing.strftime("%H:%M") in row
    assert "the target answered 410" in row
    assert f'href="{url(app, "new")}"' in page
    assert_no_secret(response, webhook)
    assert_no_secret(response, other)


@pytest.mark.django_db
def test_it_shows_an_empty_list_and_the_tab_on_every_app_page(owner_client, app):
    assert "No webhooks yet." in html(owner_client.get(url(app)))
    assert f'href="/apps/{app.id}/webhooks/"' in html(owner_client.get(f"/apps/{app.id}/settings/"))


# Create.


@pytest.mark.django_db
def test_the_form_offers_every_subscribable_trigger(owner_client, app):
    page = html(owner_client.get(url(app, "new")))
    for trigger in SUBSCRIBABLE_TRIGGERS:
        assert f'type="checkbox" name="triggers" value="{trigger}"' in page
    assert 'value="message" id="webhook_triggers_0" checked' in page  # Smooch's default
    assert "never sent: Parley takes no payments" in page
    assert 'name="target"' in page and 'name="enabled"' not in page


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True])
def test_it_creates_a_webhook_with_generated_secrets(owner_client, app, htmx):
    response = owner_client.post(url(app, "new"), {"target": TARGET, "triggers": ["message:appUser", "postback"]},
                                 **(HTMX if htmx else {}))
    webhook = Webhook.objects.get(app=app)
    if htmx:
        assert response.status_code == 200 and response["HX-Redirect"] == url(app, webhook.id)
    else:
        assert response.status_code == 302 and response["Location"] == url(app, webhook.id)
    assert (webhook.target, webhook.triggers, webhook.enabled) == (TARGET, ["message:appUser", "postback"], True)
    assert webhook.secret and webhook.signing_secret.startswith("whsec_")
    page = owner_client.get(url(app, webhook.id))
    assert f"Webhook to {TARGET} created." in html(page)
    assert_no_secret(page, webhook)


@pytest.mark.django_db
@pytest.mark.parametrize("data, error", [
    ({"triggers": ["message"]}, "This field is required."),
    ({"target": "   ", "triggers": ["message"]}, "This field is required."),
    ({"target": "ftp://hooks.example/x", "triggers": ["message"]}, "target must be an http or https URL."),
    ({"target": "hooks.example/x", "triggers": ["message"]}, "target must be an http or https URL."),
    ({"target": "https://hooks.example/" + "x" * 2000, "triggers": ["message"]},
     "target must be at most 2000 characters."),
    ({"target": "http://127.0.0.1:8000/hook", "triggers": ["message"]},
     "target must not be a loopback or private address (127.0.0.0/8 (loopback); "
     "set PARLEY_WEBHOOK_ALLOW_PRIVATE to allow it)."),
    ({"target": "https://10.1.2.3/hook", "triggers": ["message"]}, "must not be a loopback or private address"),
    ({"target": TARGET}, "triggers must name at least one trigger."),
    ({"target": TARGET, "triggers": ["Message"]}, "Select a valid choice. Message is not one of the available"),
    ({"target": "https://hooks.example/\x00", "triggers": ["message"]}, "Null characters are not allowed."),
])
def test_bad_input_is_a_form_error_and_nothing_is_stored(owner_client, app, data, error):
    response = owner_client.post(url(app, "new"), data)
    assert response.status_code == 422
    assert error in html(response).replace("&#x27;", "'")
    assert not Webhook.objects.exists()


@pytest.mark.django_db
def test_a_refused_htmx_post_gets_its_form_back_with_the_values(owner_client, app):
    response = owner_client.post(url(app, "new"), {"target": "ftp://hooks.example/x"}, **HTMX)
    page = html(response)
    assert response.status_code == 422 and page.lstrip().startswith('<section id="webhook-form"')
    assert 'value="ftp://hooks.example/x"' in page and "triggers must name at least one trigger." in page
    assert not Webhook.objects.exists()


@pytest.mark.django_db
def test_a_loopback_target_is_accepted_when_private_targets_are_allowed(owner_client, app, settings):
    settings.PARLEY_WEBHOOK_ALLOW_PRIVATE = True
    response = owner_client.post(url(app, "new"), {"target": "http://127.0.0.1:8000/hook", "triggers": ["*"]})
    assert response.status_code == 302
    assert Webhook.objects.get(app=app).target == "http://127.0.0.1:8000/hook"


# The webhook's page: details and secrets.


@pytest.mark.django_db
def test_the_page_shows_the_webhook_with_its_secrets_hidden(owner_client, app, webhook):
    response = owner_client.get(url(app, webhook.id))
    page = html(response)
    assert response.status_code == 200 and webhook.id in page and TARGET in page
    assert "no-store" in response["Cache-Control"]
    assert "Reveal secrets" in page and 'class="hidden-secret"' in page
    assert "keeps signing for 24 hours" in page
    assert f'action="{url(app, webhook.id, "edit")}"' in page and f'value="{TARGET}"' in page
    assert f'href="{url(app, webhook.id, "delete")}"' in page
    assert "No events yet." in page
    assert_no_secret(response, webhook)


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True])
def test_the_secrets_are_revealed_on_an_explicit_post(owner_client, app, webhook, htmx):
    response = owner_client.post(url(app, webhook.id, "secrets"), **(HTMX if htmx else {}))
    page = html(response)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert page.lstrip().startswith('<section id="webhook-secrets"') == htmx
    assert f'<code class="webhook-secret">{webhook.secret}</code>' in page
    assert f'<code class="signing-secret">{webhook.signing_secret}</code>' in page
    assert f'data-copy="{webhook.signing_secret}"' in page
    assert "Reveal secrets" not in page
    assert owner_client.get(url(app, webhook.id, "secrets")).status_code == 405


@pytest.mark.django_db
def test_rotating_the_api_key_secret_replaces_it_at_once(owner_client, app, webhook):
    old = webhook.secret
    response = owner_client.post(url(app, webhook.id, "secrets", "rotate"), **HTMX)
    webhook.refresh_from_db()
    page = html(response)
    assert response.status_code == 200 and webhook.secret != old
    assert f'<code class="webhook-secret">{webhook.secret}</code>' in page and old not in page
    assert "The old one no longer works" in page


@pytest.mark.django_db
def test_rotating_the_signing_secret_keeps_the_old_one_signing_for_24_hours(owner_client, app, webhook):
    old = webhook.signing_secret
    response = owner_client.post(url(app, webhook.id, "signing-secret", "rotate"))
    webhook.refresh_from_db()
    page = html(response)
    assert response.status_code == 200 and page.lstrip().startswith("<!doctype html>")
    assert webhook.signing_secret != old and webhook.previous_signing_secret == old
    until = webhook.previous_signing_until
    assert abs((until - timezone.now() - timedelta(hours=24)).total_seconds()) < 60
    assert f'<code class="signing-secret">{webhook.signing_secret}</code>' in page
    assert old not in page
    assert "The previous one keeps signing for 24 hours" in page
    assert f"keeps signing too until <time datetime=\"{until:%Y-%m-%dT%H:%M:%S}" in page
    later = html(owner_client.get(url(app, webhook.id)))  # hidden again on the next visit
    assert webhook.signing_secret not in later and "keeps signing too until" in later


# Edit, disable, enable.


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True])
def test_it_edits_the_target_and_triggers(owner_client, app, webhook, htmx):
    response = owner_client.post(url(app, webhook.id, "edit"), {
        "target": "https://new.example/hook", "triggers": ["delivery:failure", "*"], "enabled": "on"},
        **(HTMX if htmx else {}))
    assert response.status_code in (200, 302)
    assert (response["HX-Redirect"] if htmx else response["Location"]) == url(app, webhook.id)
    webhook.refresh_from_db()
    assert (webhook.target, webhook.triggers, webhook.enabled) == ("https://new.example/hook",
                                                                   ["delivery:failure", "*"], True)


@pytest.mark.django_db
@pytest.mark.parametrize("data, error", [
    ({"target": "javascript:alert(1)", "triggers": ["message"], "enabled": "on"},
     "target must be an http or https URL."),
    ({"target": TARGET, "enabled": "on"}, "triggers must name at least one trigger."),
    ({"target": "", "triggers": ["message"]}, "This field is required."),
])
def test_a_refused_edit_changes_nothing(owner_client, app, webhook, data, error):
    before = snapshot()
    response = owner_client.post(url(app, webhook.id, "edit"), data, **HTMX)
    page = html(response)
    assert response.status_code == 422 and page.lstrip().startswith('<section id="webhook-edit"')
    assert error in page
    assert snapshot() == before


@pytest.mark.django_db
def test_unchecking_enabled_disables_it_with_who_and_when(owner_client, owner, app, webhook):
    owner_client.post(url(app, webhook.id, "edit"), {"target": TARGET, "triggers": ["message"]})
    webhook.refresh_from_db()
    assert not webhook.enabled
    assert webhook.disabled_reason.startswith(f"disabled in the dashboard by {owner.email} on ")
    page = html(owner_client.get(url(app, webhook.id)))
    assert "This webhook is disabled" in page and webhook.disabled_reason in page
    assert f'action="{url(app, webhook.id, "enable")}"' in page


@pytest.mark.django_db
def test_a_webhook_a_410_disabled_says_why_and_is_enabled_again(owner_client, app, webhook, receiver):
    reason = "the target answered 410 Gone on 2026-01-02 03:04 UTC"
    Webhook.objects.filter(pk=webhook.pk).update(target=receiver.url + "/hook", enabled=False,
                                                 disabled_reason=reason, failing_since=timezone.now())
    waiting = recorded(webhook, state="pending")
    assert sender.run_due() == 0  # nothing goes to a disabled webhook
    page = html(owner_client.get(url(app, webhook.id)))
    assert "This webhook is disabled" in page and reason in page and ">Enable</button>" in page
    response = owner_client.post(url(app, webhook.id, "enable"), **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == url(app, webhook.id)
    webhook.refresh_from_db()
    assert webhook.enabled and webhook.disabled_reason == ""
    page = html(owner_client.get(url(app, webhook.id)))
    assert "This webhook is disabled" not in page and "its waiting events are being sent" in page
    assert sender.run_due() == 1  # the event that waited goes out
    waiting.refresh_from_db()
    assert waiting.state == "delivered" and len(receiver.received("/hook")) == 1


# Test event, events, attempts, payloads.


@pytest.mark.django_db
def test_a_test_event_is_sent_and_its_attempt_shown(owner_client, app, webhook, receiver):
    Webhook.objects.filter(pk=webhook.pk).update(target=receiver.url + "/hook")
    response = owner_client.post(url(app, webhook.id, "test"), **HTMX)
    page = html(response)
    event = WebhookEvent.objects.get(webhook=webhook)
    assert response.status_code == 200 and page.lstrip().startswith('<section id="webhook-events"')
    assert f"Test event {event.pk} queued" in page and "waiting to be sent" in page
    assert event.trigger == "webhook:test"
    assert sender.run_due() == 1
    [request] = receiver.received("/hook")
    assert request["body"]["trigger"] == "webhook:test" and request["headers"]["webhook-id"] == event.message_id
    page = html(owner_client.get(url(app, webhook.id, "events"), **HTMX))
    item = page.split(f'id="event-{event.pk}"')[1].split("</li>")[0]
    assert "Delivered" in item and '<span class="state state-delivered">200</span>' in item
    assert " ms</td>" in item and '{"id": "fake-' in item.replace("&quot;", '"')  # the response snippet
    assert event.message_id in item and "&quot;trigger&quot;: &quot;webhook:test&quot;" in item
    assert "Re-deliver event" in item


@pytest.mark.django_db
def test_a_test_event_as_a_plain_post_goes_back_to_the_page(owner_client, app, webhook):
    response = owner_client.post(url(app, webhook.id, "test"))
    assert response.status_code == 302 and response["Location"] == url(app, webhook.id) + "#webhook-events"
    assert "Test event" in html(owner_client.get(url(app, webhook.id)))


@pytest.mark.django_db
def test_events_show_every_attempt_and_the_payload_escaped(owner_client, app, webhook):
    payload = {"trigger": "message:appUser", "messages": [{"text": "<script>alert('x')</script> é"}]}
    event = recorded(webhook, payload=payload, attempts=[
        (None, "timed out after 5s", ""), (503, "the target answered 503", "<b>busy</b>"),
        (500, "the target answered 500", "")])
    page = html(owner_client.get(url(app, webhook.id)))
    item = page.split(f'id="event-{event.pk}"')[1].split("</li>")[0]
    assert item.count('<tr class="attempt">') == 3 and "Failed" in item
    assert "no answer" in item and "timed out after 5s" in item
    assert "&lt;b&gt;busy&lt;/b&gt;" in item and "<b>busy</b>" not in item
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; é" in item and "<script>alert" not in item
    assert "\n  &quot;messages&quot;: [" in item  # pretty JSON
    assert "41 ms" in item and "43 ms" in item


@pytest.mark.django_db
def test_a_huge_payload_is_shown_cut_with_where_to_get_it_whole(owner_client, app, webhook):
    event = recorded(webhook, payload={"trigger": "message:appUser", "text": "x" * 50_000 + "END"})
    page = html(owner_client.get(url(app, webhook.id)))
    item = page.split(f'id="event-{event.pk}"')[1].split("</li>")[0]
    assert "x" * 19_000 in item and "END" not in item and len(item) < 25_000
    assert "more characters: <code>GET /v1/webhooks/" in item


@pytest.mark.django_db
def test_sending_to_a_disabled_webhook_says_nothing_goes_out_yet(owner_client, app, webhook):
    Webhook.objects.filter(pk=webhook.pk).update(enabled=False, disabled_reason="gone (410)")
    failed = recorded(webhook)
    for path, data in ((url(app, webhook.id, "test"), {}),
                       (url(app, webhook.id, "events", str(failed.pk), "redeliver"), {}),
                       (url(app, webhook.id, "redeliver"), {"since": "2000-01-01T00:00"})):
        page = html(owner_client.post(path, data, **HTMX))
        assert "The webhook is disabled: nothing goes out until it is enabled." in page, path


@pytest.mark.django_db
def test_a_secret_a_receiver_echoes_is_masked(owner_client, as_user, agent, app, webhook):
    recorded(webhook, attempts=[(401, f"the target answered 401 to {webhook.secret}",
                                 f"bad X-API-Key {webhook.secret} / {webhook.signing_secret}")])
    for client in (owner_client, as_user(agent)):
        for path in (url(app), url(app, webhook.id)):
            response = client.get(path)
            assert "••••" in html(response)
            assert_no_secret(response, webhook)


@pytest.mark.django_db
def test_events_are_filtered_by_state(owner_client, app, webhook):
    failed = recorded(webhook, state="failed")
    delivered = recorded(webhook, state="delivered")
    page = html(owner_client.get(url(app, webhook.id, "events") + "?state=failed", **HTMX))
    assert f'id="event-{failed.pk}"' in page and f'id="event-{delivered.pk}"' not in page
    assert '?state=failed#webhook-events" hx-get=' in page and 'aria-current="true">Failed' in page
    page = html(owner_client.get(url(app, webhook.id) + "?state=delivered"))
    assert f'id="event-{delivered.pk}"' in page and f'id="event-{failed.pk}"' not in page
    assert owner_client.get(url(app, webhook.id) + "?state=nosuch").status_code == 404


# Re-delivery.


@pytest.mark.django_db
def test_one_event_is_redelivered_and_its_earlier_attempts_stay(owner_client, app, webhook):
    event = recorded(webhook, attempts=[(500, "the target answered 500", "")] * 6)
    response = owner_client.post(url(app, webhook.id, "events", str(event.pk), "redeliver"), **HTMX)
    page = html(response)
    assert response.status_code == 200 and f"Event {event.pk} (message:appUser) is being sent again." in page
    event.refresh_from_db()
    assert (event.state, event.attempts, event.retry_base) == ("pending", 6, 6)  # a fresh schedule
    item = page.split(f'id="event-{event.pk}"')[1].split("</li>")[0]
    assert item.count('<tr class="attempt">') == 6 and "Re-deliver event" not in item  # on its way
    plain = owner_client.post(url(app, webhook.id, "events", str(event.pk), "redeliver"))
    assert plain.status_code == 302 and plain["Location"] == url(app, webhook.id) + "#webhook-events"


@pytest.mark.django_db
def test_failed_events_since_a_time_are_redelivered(owner_client, app, webhook):
    now = timezone.now()
    old = recorded(webhook, created_at=now - timedelta(hours=3))
    recent = [recorded(webhook, created_at=now - timedelta(minutes=m)) for m in (50, 10)]
    delivered = recorded(webhook, state="delivered", created_at=now - timedelta(minutes=5))
    since = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = owner_client.post(url(app, webhook.id, "redeliver"), {"since": since}, **HTMX)
    page = html(response)
    assert response.status_code == 200
    assert f"Sending 2 failed events since {since.replace('T', ' ')} UTC again." in page
    states = dict(WebhookEvent.objects.values_list("id", "state"))
    assert [states[e.pk] for e in recent] == ["pending", "pending"]
    assert states[old.pk] == "failed" and states[delivered.pk] == "delivered"
    response = owner_client.post(url(app, webhook.id, "redeliver"), {"since": since}, **HTMX)
    assert "No failed events since" in html(response)


@pytest.mark.django_db
@pytest.mark.parametrize("since, error", [
    ("", "This field is required."),
    ("yesterday", "Enter a date and time, such as 2026-01-31 14:00."),
    ("2026-13-40T99:99", "Enter a date and time"),
])
def test_a_bad_redeliver_time_is_a_form_error_that_changes_nothing(owner_client, app, webhook, since, error):
    recorded(webhook)
    before = snapshot()
    response = owner_client.post(url(app, webhook.id, "redeliver"), {"since": since}, **HTMX)
    assert response.status_code == 422 and error in html(response)
    assert html(response).lstrip().startswith('<section id="webhook-events"')
    assert snapshot() == before


# Delete.


@pytest.mark.django_db
def test_it_asks_for_confirmation_then_deletes(owner_client, app, webhook):
    recorded(webhook, attempts=[(500, "the target answered 500", "")])
    confirm = owner_client.get(url(app, webhook.id, "delete"))
    assert confirm.status_code == 200 and f"Delete the webhook to {TARGET}?" in html(confirm)
    assert Webhook.objects.filter(pk=webhook.pk).exists()
    response = owner_client.post(url(app, webhook.id, "delete"))
    assert response.status_code == 302 and response["Location"] == url(app)
    assert not Webhook.objects.exists() and not WebhookEvent.objects.exists()
    assert f"Webhook to {TARGET} deleted." in html(owner_client.get(url(app)))
    assert owner_client.get(url(app, webhook.id)).status_code == 404


# The overview.


@pytest.mark.django_db
def test_the_overview_flags_a_webhook_that_keeps_failing(owner_client, app, webhook):
    overview = f"/apps/{app.id}/overview/"
    assert "Webhooks need attention" not in html(owner_client.get(overview))
    since = timezone.now() - timedelta(minutes=30)
    Webhook.objects.filter(pk=webhook.pk).update(failing_since=since)
    page = html(owner_client.get(overview))
    assert "Webhooks need attention" in page and f'href="{url(app, webhook.id)}"' in page
    assert f"every attempt since <time datetime=\"{since:%Y-%m-%dT%H:%M:%S}" in page
    Webhook.objects.filter(pk=webhook.pk).update(failing_since=None, enabled=False, disabled_reason="gone (410)")
    page = html(owner_client.get(overview))
    assert "Disabled: gone (410)." in page and "Keeps failing" not in page


# Who may do what.


def assert_refused(client, app, webhook, event, status, **headers):
    """Every write (and form) answers `status`, shows no secret and changes nothing."""
    before = snapshot()
    for method, path, data in actions(app, webhook, event):
        response = getattr(client, method)(path, data, **headers)
        assert response.status_code == status, path
        assert_no_secret(response, webhook)
    assert snapshot() == before


def actions(app, webhook, event):
    return [
        ("get", url(app, "new"), {}),
        ("post", url(app, "new"), {"target": "https://evil.example/", "triggers": ["*"]}),
        ("post", url(app, webhook.id, "edit"), {"target": "https://evil.example/", "triggers": ["*"]}),
        ("post", url(app, webhook.id, "enable"), {}),
        ("post", url(app, webhook.id, "secrets"), {}),
        ("post", url(app, webhook.id, "secrets", "rotate"), {}),
        ("post", url(app, webhook.id, "signing-secret", "rotate"), {}),
        ("post", url(app, webhook.id, "test"), {}),
        ("post", url(app, webhook.id, "events", str(event.pk), "redeliver"), {}),
        ("post", url(app, webhook.id, "redeliver"), {"since": "2000-01-01T00:00"}),
        ("get", url(app, webhook.id, "delete"), {}),
        ("post", url(app, webhook.id, "delete"), {}),
    ]


@pytest.mark.django_db
def test_agents_see_the_webhooks_and_attempts_but_no_secret_or_form(as_user, agent, app, webhook):
    event = recorded(webhook, attempts=[(500, "the target answered 500", "try later")])
    webhook_config.rotate_signing_secret(webhook)  # a previous secret in the overlap too
    Webhook.objects.filter(pk=webhook.pk).update(failing_since=timezone.now())
    client = as_user(agent)
    pages = [client.get(path) for path in (url(app), url(app, webhook.id), url(app, webhook.id, "events"),
                                           f"/apps/{app.id}/overview/")]
    pages.append(client.get(url(app, webhook.id, "events"), **HTMX))
    for response in pages:
        assert response.status_code == 200
        assert_no_secret(response, webhook)
        assert "Reveal secrets" not in html(response) and "<form method=\"post\" action=\"/apps" not in html(response)
    listing, page = html(pages[0]), html(pages[1])
    assert TARGET in listing and "Add a webhook" not in listing and "Keeps failing" in listing
    assert f'id="event-{event.pk}"' in page and "try later" in page and "the target answered 500" in page
    assert "Payload" in page and "Only owners and admins" in page
    assert "Rotate" not in page and "Send test event" not in page and "Re-deliver" not in page


@pytest.mark.django_db
def test_agents_get_403_on_every_write_and_nothing_changes(as_user, agent, app, webhook):
    event = recorded(webhook, attempts=[(500, "the target answered 500", "")])
    assert_refused(as_user(agent), app, webhook, event, 403)


@pytest.mark.django_db
def test_admins_manage_webhooks(as_user, admin, app, webhook):
    client = as_user(admin)
    assert webhook.secret in html(client.post(url(app, webhook.id, "secrets")))
    assert client.post(url(app, webhook.id, "signing-secret", "rotate")).status_code == 200
    assert client.post(url(app, "new"), {"target": "https://b.example/", "triggers": ["*"]}).status_code == 302
    assert client.post(url(app, webhook.id, "delete")).status_code == 302
    assert list(Webhook.objects.values_list("target", flat=True)) == ["https://b.example/"]


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True])
def test_other_teams_get_404_for_every_page_and_action(client, stranger, app, webhook, htmx):
    event = recorded(webhook)
    client.force_login(stranger)
    headers = HTMX if htmx else {}
    for path in (url(app), url(app, webhook.id), url(app, webhook.id, "events")):
        assert client.get(path, **headers).status_code == 404
    assert_refused(client, app, webhook, event, 404, **headers)


@pytest.mark.django_db
def test_a_webhook_is_not_found_through_another_app(client, stranger, stranger_app, webhook):
    """Mixing ids: team A's webhook and event through team B's own app."""
    event = recorded(webhook)
    client.force_login(stranger)
    before = snapshot()
    for method, path, data in actions(stranger_app, webhook, event)[2:]:
        assert getattr(client, method)(path, data).status_code == 404, path
    assert client.get(url(stranger_app, webhook.id)).status_code == 404
    assert snapshot() == before


@pytest.mark.django_db
def test_an_event_is_not_found_through_another_webhook(owner_client, app, webhook):
    other = webhook_config.create_webhook(app, target="https://other.example/", triggers=["*"])
    event = recorded(other)
    before = snapshot()
    assert owner_client.post(url(app, webhook.id, "events", str(event.pk), "redeliver")).status_code == 404
    assert owner_client.post(url(app, webhook.id, "events", "999999", "redeliver")).status_code == 404
    assert snapshot() == before


@pytest.mark.django_db
def test_unknown_webhooks_and_wrong_methods_are_refused(owner_client, app, webhook):
    assert owner_client.get(url(app, "nosuch")).status_code == 404
    assert owner_client.post(url(app, "nosuch", "test")).status_code == 404
    for action in ("edit", "enable", "test", "redeliver", "secrets/rotate", "signing-secret/rotate"):
        assert owner_client.get(url(app, webhook.id, action)).status_code == 405, action
    assert owner_client.post(url(app)).status_code == 405
    assert owner_client.post(url(app, webhook.id, "events")).status_code == 405


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(client, app, webhook):
    for method, path in (("get", url(app)), ("get", url(app, "new")), ("get", url(app, webhook.id)),
                         ("post", url(app, webhook.id, "secrets"))):
        response = getattr(client, method)(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
