"""The Log tab: keyset pages, filters, ID search, live catch-up, retention
and `manage.py prunelogs`."""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging import periodic
from messaging.models import LogEntry
from messaging.services import logs as logs_service
from messaging.services.messages import post_message
from tests.support.ws import make_user

HX = {"HTTP_HX_REQUEST": "true"}


def entries(app, n, kind="appUser:updated", app_user=None, **fields):
    return LogEntry.objects.bulk_create(
        [LogEntry(app=app, kind=kind, app_user=app_user, summary=f"event {i}", **fields) for i in range(n)]
    )


def ids_in(body: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-log-id="(\d+)"', body)]


@pytest.mark.smoke
@pytest.mark.django_db
def test_it_walks_the_log_newest_first_with_a_keyset_cursor(owner_client, app):
    entries(app, logs_service.PAGE_SIZE * 2 + 7)
    all_ids = list(LogEntry.objects.filter(app=app).order_by("-id").values_list("id", flat=True))
    with CaptureQueriesContext(connection) as queries:
        first = owner_client.get(f"/apps/{app.id}/log/").content.decode()
    assert not any("OFFSET" in q["sql"].upper() for q in queries.captured_queries)
    assert ids_in(first) == all_ids[: logs_service.PAGE_SIZE]
    cursor = all_ids[logs_service.PAGE_SIZE - 1]
    assert f"before={cursor}" in first
    second = owner_client.get(f"/apps/{app.id}/log/", {"before": cursor}, **HX).content.decode()
    assert ids_in(second) == all_ids[logs_service.PAGE_SIZE: 2 * logs_service.PAGE_SIZE]
    third = owner_client.get(f"/apps/{app.id}/log/", {"before": all_ids[2 * logs_service.PAGE_SIZE - 1]},
                             **HX).content.decode()
    assert ids_in(third) == all_ids[2 * logs_service.PAGE_SIZE:]
    assert "Older events" not in third


@pytest.mark.django_db
def test_live_catch_up_returns_only_newer_rows(owner_client, app):
    old = entries(app, 3)
    top = max(e.id for e in old)
    new = entries(app, 2)
    body = owner_client.get(f"/apps/{app.id}/log/", {"after": top}, **HX).content.decode()
    assert sorted(ids_in(body)) == sorted(e.id for e in new)


@pytest.mark.django_db
def test_it_filters_by_kind_and_user(owner_client, app, alice):
    other = make_user(app, "other")
    entries(app, 3, kind="appUser:updated", app_user=alice)
    entries(app, 2, kind="typing:appUser", app_user=alice)
    entries(app, 4, kind="typing:appUser", app_user=other)
    by_kind = ids_in(owner_client.get(f"/apps/{app.id}/log/", {"kind": "typing:appUser"}).content.decode())
    assert len(by_kind) == 6
    both = owner_client.get(f"/apps/{app.id}/log/", {"kind": "typing:appUser", "user": "alice"}).content.decode()
    assert len(ids_in(both)) == 2
    # Typing is hidden unless the kind filter asks for it (issue 15).
    by_id = owner_client.get(f"/apps/{app.id}/log/", {"user": alice.id}).content.decode()
    assert len(ids_in(by_id)) == 3
    with_typing = owner_client.get(f"/apps/{app.id}/log/", {"user": alice.id, "kind": "all"}).content.decode()
    assert len(ids_in(with_typing)) == 5
    nobody = owner_client.get(f"/apps/{app.id}/log/", {"user": "nobody"}).content.decode()
    assert ids_in(nobody) == []


@pytest.mark.django_db
def test_the_kind_filter_offers_every_kind(owner_client, app):
    from messaging.events import KINDS

    body = owner_client.get(f"/apps/{app.id}/log/").content.decode()
    for kind in KINDS:
        assert f'value="{kind}"' in body


@pytest.mark.django_db
def test_it_searches_by_user_id_user_ref_log_id_and_message_id(owner_client, app, alice):
    other = make_user(app, "other")
    entries(app, 3, app_user=other)
    message = post_message(alice, role="appUser", fields={"type": "text", "text": "hi"}, source={"type": "web"})
    mine = set(LogEntry.objects.filter(app_user=alice).values_list("id", flat=True))
    for query in (alice.id, "alice"):
        body = owner_client.get(f"/apps/{app.id}/log/", {"q": query}).content.decode()
        assert set(ids_in(body)) == mine
        assert "Showing events of user" in body
    one = LogEntry.objects.filter(app_user=other).first()
    assert ids_in(owner_client.get(f"/apps/{app.id}/log/", {"q": str(one.id)}).content.decode()) == [one.id]
    by_message = ids_in(owner_client.get(f"/apps/{app.id}/log/", {"q": message.id}).content.decode())
    assert by_message == [LogEntry.objects.get(kind="message:appUser").id]
    assert ids_in(owner_client.get(f"/apps/{app.id}/log/", {"q": "nothing-here"}).content.decode()) == []


@pytest.mark.django_db
def test_each_row_has_copy_buttons_a_conversation_link_and_its_json(owner_client, app, alice):
    entries(app, 1, app_user=alice, detail={"hello": "world"})
    body = owner_client.get(f"/apps/{app.id}/log/").content.decode()
    assert f'data-copy="{alice.id}"' in body and 'data-copy="alice"' in body
    assert f'href="/apps/{app.id}/users/{alice.id}/"' in body
    assert "<details" in body and "&quot;hello&quot;: &quot;world&quot;" in body


@pytest.mark.django_db
def test_bad_cursors_are_404(owner_client, app):
    assert owner_client.get(f"/apps/{app.id}/log/", {"before": "abc"}).status_code == 404
    assert owner_client.get(f"/apps/{app.id}/log/", {"kind": "nope"}).status_code == 404


@pytest.mark.django_db
def test_admins_set_retention_and_agents_cannot(client, app, admin, agent):
    client.force_login(agent)
    assert client.post(f"/apps/{app.id}/log/retention/", {"days": 5}).status_code == 403
    app.refresh_from_db()
    assert "logRetentionDays" not in app.settings
    client.force_login(admin)
    response = client.post(f"/apps/{app.id}/log/retention/", {"days": 5}, **HX)
    assert response.status_code == 200 and "Retention saved" in response.content.decode()
    app.refresh_from_db()
    assert app.settings["logRetentionDays"] == 5
    bad = client.post(f"/apps/{app.id}/log/retention/", {"days": 0}, **HX)
    assert bad.status_code == 422
    app.refresh_from_db()
    assert app.settings["logRetentionDays"] == 5


@pytest.mark.smoke
@pytest.mark.django_db
def test_prunelogs_deletes_by_each_apps_retention_in_batches_and_is_idempotent(app, make_app, team, settings):
    settings.PARLEY_LOG_RETENTION_DAYS = 30
    short = make_app(team, "Short", with_key=False)
    logs_service.set_retention_days(short, 2)
    now = timezone.now()
    for target in (app, short):
        entries(target, 7, created_at=now - timedelta(days=10))
        entries(target, 2, created_at=now - timedelta(days=40))
        entries(target, 3, created_at=now - timedelta(hours=1))
    call_command("prunelogs", "--batch", "2")
    assert LogEntry.objects.filter(app=app).count() == 10
    assert LogEntry.objects.filter(app=short).count() == 3
    call_command("prunelogs")
    assert LogEntry.objects.filter(app=app).count() == 10
    assert LogEntry.objects.filter(app=short).count() == 3


def test_prunelogs_runs_on_the_workers_daily_schedule():
    # What the worker's scheduler imports before it builds its job list.
    import messaging.tasks  # noqa: F401

    jobs = {job.name: job.every for job in periodic.default_jobs()}
    assert jobs.get("prunelogs") == 24 * 3600
