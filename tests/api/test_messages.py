"""GET/DELETE messages: paging by time (100 a page, next/previous links),
deleting one or all, and resending a failed delivery (Parley extension)."""

from datetime import UTC, datetime, timedelta

import pytest

from messaging.models import Delivery, DeliveryState, Message
from tests.api.conftest import error_of

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def seed(app_user, count, role="appUser"):
    Message.objects.bulk_create([
        Message(app=app_user.app, app_user=app_user, role=role, text=f"m{i}",
                received=T0 + timedelta(seconds=i, milliseconds=123))
        for i in range(count)
    ])
    app_user.conversation_started = True
    app_user.save()


@pytest.mark.smoke
def test_it_lists_the_latest_100_oldest_first(api, as_alice, alice):
    seed(alice, 150)
    response = api.get(f"/v1/appusers/{alice.id}/messages", headers=as_alice)
    assert response.status_code == 200
    texts = [m["text"] for m in response.data["messages"]]
    assert texts == [f"m{i}" for i in range(50, 150)]
    assert response.data["conversation"] == {"_id": alice.id, "unreadCount": 0}
    assert "next" not in response.data
    previous = response.data["previous"]
    assert previous.startswith("http://testserver/v1/appusers/") and "before=" in previous


def test_it_pages_back_and_forth_without_overlap(api, as_alice, alice):
    seed(alice, 150)
    first = api.get(f"/v1/appusers/{alice.id}/messages", headers=as_alice).data
    older = api.get(first["previous"].replace("http://testserver", ""), headers=as_alice).data
    assert [m["text"] for m in older["messages"]] == [f"m{i}" for i in range(50)]
    assert "previous" not in older
    newer = api.get(older["next"].replace("http://testserver", ""), headers=as_alice).data
    assert [m["text"] for m in newer["messages"]] == [f"m{i}" for i in range(50, 150)]


def test_it_excludes_the_given_timestamp(api, as_alice, alice):
    seed(alice, 5)
    stamp = (T0 + timedelta(seconds=2, milliseconds=123)).timestamp()
    before = api.get(f"/v1/appusers/{alice.id}/messages", {"before": f"{stamp:.3f}"}, headers=as_alice)
    assert [m["text"] for m in before.data["messages"]] == ["m0", "m1"]
    after = api.get(f"/v1/appusers/{alice.id}/messages", {"after": f"{stamp:.3f}"}, headers=as_alice)
    assert [m["text"] for m in after.data["messages"]] == ["m3", "m4"]


@pytest.mark.parametrize("query,description", [
    ({"before": "1", "after": "2"}, "before and after are mutually exclusive."),
    ({"before": "yesterday"}, "before must be a Unix timestamp in seconds"),
    ({"after": "NaN"}, "after must be a Unix timestamp in seconds"),
])
def test_it_rejects_bad_paging(api, as_alice, alice, query, description):
    seed(alice, 1)
    status, code, text = error_of(api.get(f"/v1/appusers/{alice.id}/messages", query, headers=as_alice))
    assert (status, code) == (400, "bad_request") and description in text


def test_it_answers_404_without_a_conversation(api, as_alice, alice):
    assert error_of(api.get(f"/v1/appusers/{alice.id}/messages", headers=as_alice))[:2] == (404, "not_found")


def test_it_deletes_one_message(api, app_jwt, alice):
    seed(alice, 2)
    first = Message.objects.order_by("received").first()
    response = api.delete(f"/v1/appusers/{alice.id}/messages/{first.id}", headers=app_jwt)
    assert response.status_code == 200
    assert list(Message.objects.values_list("text", flat=True)) == ["m1"]
    response = api.delete(f"/v1/appusers/{alice.id}/messages/{first.id}", headers=app_jwt)
    assert error_of(response)[:2] == (404, "not_found")


def test_it_deletes_all_messages(api, app_jwt, alice, other_app):
    seed(alice, 3)
    seed(other_app.user, 2)
    response = api.delete(f"/v1/appusers/{alice.id}/messages", headers=app_jwt)
    assert response.status_code == 200
    assert not Message.objects.filter(app_user=alice).exists()
    assert Message.objects.filter(app_user=other_app.user).count() == 2


def test_it_requires_app_scope_to_delete(api, as_alice, alice):
    seed(alice, 1)
    assert error_of(api.delete(f"/v1/appusers/{alice.id}/messages", headers=as_alice))[:2] == (403, "forbidden")
    assert Message.objects.count() == 1


def _failed_delivery(api, app_jwt, alice):
    response = api.post(f"/v1/appusers/{alice.id}/messages", {"role": "appMaker", "type": "text", "text": "x"},
                        headers=app_jwt)
    message_id = response.data["message"]["_id"]
    delivery = Delivery.objects.get(message_id=message_id)
    Delivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.FAILED, error={"code": "boom"})
    return message_id, delivery


def test_it_resends_a_failed_delivery(api, app_jwt, alice):
    message_id, delivery = _failed_delivery(api, app_jwt, alice)
    response = api.post(f"/v1/appusers/{alice.id}/messages/{message_id}/deliveries/{delivery.pk}/resend",
                        headers=app_jwt)
    assert response.status_code == 200, response.content
    assert response.data["delivery"]["messageId"] == message_id
    assert response.data["delivery"]["state"] == "queued"  # a new attempt, for the worker
    assert response.data["delivery"]["_id"] == str(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == "queued" and delivery.error is None


def test_it_resends_only_failed_deliveries(api, app_jwt, alice):
    message_id, delivery = _failed_delivery(api, app_jwt, alice)
    Delivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.SENT)
    response = api.post(f"/v1/appusers/{alice.id}/messages/{message_id}/deliveries/{delivery.pk}/resend",
                        headers=app_jwt)
    assert error_of(response)[:2] == (409, "conflict")
    response = api.post(f"/v1/appusers/{alice.id}/messages/{message_id}/deliveries/999999/resend",
                        headers=app_jwt)
    assert error_of(response)[:2] == (404, "not_found")
