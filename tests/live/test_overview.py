"""The Overview tab's figures and its server-rendered SVG charts."""

import pytest

from messaging.models import Delivery, DeliveryState
from messaging.services.messages import post_message
from messaging.services.overview import overview
from tests.support.ws import make_client


@pytest.mark.django_db
def test_it_counts_messages_deliveries_and_failovers_by_channel(owner_client, app, alice):
    tg = make_client(alice, "telegram", minutes_ago=5)
    web = alice.clients.get(platform="web")
    post_message(alice, role="appUser", fields={"type": "text", "text": "hi"}, source={"type": "web"})
    post_message(alice, role="appUser", fields={"type": "text", "text": "hi"}, source={"type": "telegram"})
    ok = post_message(alice, role="appMaker", fields={"type": "text", "text": "a"})
    bad = post_message(alice, role="appMaker", fields={"type": "text", "text": "b"})
    Delivery.objects.all().delete()
    Delivery.objects.create(message=ok, client=web, purpose="preferred", state=DeliveryState.READ)
    Delivery.objects.create(message=bad, client=web, purpose="preferred", state=DeliveryState.SENT)
    Delivery.objects.create(message=bad, client=tg, purpose="failover", state=DeliveryState.FAILED,
                            error={"message": "blocked"})
    figures = overview(app)
    assert figures["per_day"][-1] == {**figures["per_day"][-1], "in": 2, "out": 2}
    assert figures["inbound_by_channel"] == {"telegram": 1, "web": 1}
    today_in, today_out = figures["in_per_day_by_channel"][-1], figures["out_per_day_by_channel"][-1]
    assert (today_in["web"], today_in["telegram"]) == (1, 1)
    assert (today_out["web"], today_out["telegram"]) == (2, 1)  # the failover went to telegram
    assert figures["in_channels"] == figures["out_channels"] == ["telegram", "web"]
    channels = {row["platform"]: row for row in figures["deliveries_by_channel"]}
    assert channels["web"]["ok"] == 2 and channels["web"]["success_rate"] == 1.0
    assert channels["telegram"]["failed"] == 1 and channels["telegram"]["success_rate"] == 0.0
    assert figures["failover_rate"] == 0.5 and figures["failed_over"] == 1
    body = owner_client.get(f"/apps/{app.id}/overview/").content.decode()
    assert body.count("<svg") == 5 and 'role="img"' in body
    assert "User messages per day, by channel" in body and "Business messages per day, by channel" in body
    assert "50.0%" in body and "66.7%" in body


@pytest.mark.smoke
@pytest.mark.django_db
def test_an_empty_app_has_an_overview(owner_client, app):
    response = owner_client.get(f"/apps/{app.id}/overview/")
    assert response.status_code == 200
    assert "No deliveries yet" in response.content.decode()
