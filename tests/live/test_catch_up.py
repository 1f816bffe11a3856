"""A dashboard page whose socket comes back catches up from the database
(tests/sdk/test_catch_up.py shows the same for SDK clients): what
static/dashboard/live.js fetches on reconnect holds what happened while no
broadcast reached it. The browser side (drop, reconnect, refetch) is in
tests/live/test_browser.py."""

import pytest

from messaging import publisher
from messaging.models import LogEntry
from messaging.services.messages import post_message

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_dashboard_page_catches_up_on_a_dropped_broadcast(client, owner, app, alice, monkeypatch):
    """The latest page of the conversation and the Log tab's rows after the
    newest one the page shows."""
    client.force_login(owner)
    seen = LogEntry.objects.filter(app=app).order_by("-id").values_list("id", flat=True).first() or 0
    monkeypatch.setattr(publisher, "MAX_BACKLOG", 0)
    message = post_message(alice, role="appUser", fields={"type": "text", "text": "lost broadcast"},
                           source={"type": "web"})

    page = client.get(f"/apps/{app.id}/users/{alice.id}/messages/", HTTP_HX_REQUEST="true")
    assert page.status_code == 200
    assert f'id="m-{message.id}"' in page.content.decode()
    assert "lost broadcast" in page.content.decode()
    log = client.get(f"/apps/{app.id}/log/?after={seen}", HTTP_HX_REQUEST="true")
    assert log.status_code == 200
    assert "User message" in log.content.decode()
