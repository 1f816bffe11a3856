"""Reading and pruning an app's event log (the dashboard's Log tab).

Pages walk `LogEntry.id` newest first with a keyset cursor (`before=<id>`,
or `after=<id>` for live catch-up), never OFFSET: a page deep in a million
rows costs what the first one does (index `log_app_newest`, `log_app_kind`,
`log_app_user`). Retention is per app (`app.settings["logRetentionDays"]`,
default `settings.PARLEY_LOG_RETENTION_DAYS`); pruning deletes by age in
batches, so it is idempotent, safe to run from several workers at once, and
never holds a long lock.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from messaging.events import KINDS
from messaging.ids import is_id
from messaging.models import App, AppUser, LogEntry
from messaging.services import audit
from messaging.services.audit import AuditAction
from messaging.services.errors import ServiceError

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
PRUNE_BATCH = 5000
MAX_RETENTION_DAYS = 3650
RETENTION_KEY = "logRetentionDays"


@dataclass
class LogPage:
    entries: list
    has_older: bool
    # The cursor for the next (older) page: the id of the last entry shown.
    older_cursor: int | None
    # The user the search resolved to, if any.
    app_user: AppUser | None = None


def find_app_user(app: App, ref: str) -> AppUser | None:
    """An app user of `app` by `_id` or `userId` (exact: both are indexed)."""
    ref = (ref or "").strip()
    if not ref:
        return None
    return AppUser.objects.by_ref(app, ref)


def log_page(
    app: App,
    *,
    before: int | None = None,
    after: int | None = None,
    kind: str | None = None,
    app_user: AppUser | None = None,
    query: str = "",
    exclude_kinds: tuple[str, ...] = (),
    limit: int = PAGE_SIZE,
) -> LogPage:
    """One page of the app's log, newest first.

    `before`: entries with a smaller id (older pages). `after`: entries with
    a larger id (what a live page missed), at most `limit`, still newest
    first. `kind` filters by event kind, `app_user` by user. `query` is an
    ID search: a log entry id, an app user's `_id` or `userId`, or a
    message id (the event's `messageId` / `message._id`). `exclude_kinds`
    leaves out those kinds (the Log tab hides typing unless asked), except
    when `kind` names one or an ID is searched."""
    rows = LogEntry.objects.filter(app=app)
    if kind:
        rows = rows.filter(kind=kind)
    elif exclude_kinds and not (query or "").strip():
        rows = rows.exclude(kind__in=exclude_kinds)
    if app_user is not None:
        rows = rows.filter(app_user=app_user)
    resolved = None
    query = (query or "").strip()
    if query:
        resolved = find_app_user(app, query)
        if resolved is not None:
            rows = rows.filter(app_user=resolved)
        elif query.isdigit() and len(query) < 19:
            rows = rows.filter(id=int(query))
        elif is_id(query):
            rows = rows.filter(
                Q(detail__messageId=query) | Q(detail__message___id=query)
            )
        else:
            rows = rows.none()
    if before is not None:
        rows = rows.filter(id__lt=before)
    if after is not None:
        rows = rows.filter(id__gt=after)
    entries = list(rows.select_related("app_user").order_by("-id")[: limit + 1])
    has_older = len(entries) > limit
    entries = entries[:limit]
    if after is not None:
        # Live catch-up never claims an "older" page: the page below has it.
        has_older = False
    return LogPage(
        entries=entries,
        has_older=has_older,
        older_cursor=entries[-1].id if entries and has_older else None,
        app_user=resolved,
    )


def kind_choices() -> list[tuple[str, str]]:
    return [(kind, label) for kind, (label, _) in KINDS.items()]


# ------------------------------------------------------------------ retention


def retention_days(app: App) -> int:
    value = (app.settings or {}).get(RETENTION_KEY)
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_RETENTION_DAYS:
        return value
    return settings.PARLEY_LOG_RETENTION_DAYS


@transaction.atomic
def set_retention_days(app: App, days: int, *, actor: audit.Actor | None = audit.SYSTEM) -> App:
    """Keep this app's log entries `days` days (1 to 3650)."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_RETENTION_DAYS:
        raise ServiceError(f"Retention must be between 1 and {MAX_RETENTION_DAYS} days.")
    app = App.objects.select_for_update().get(pk=app.pk)
    app.settings = {**(app.settings or {}), RETENTION_KEY: days}
    app.save(update_fields=["settings"])
    audit.record(actor, team_id=app.team_id, action=AuditAction.APP_UPDATE, target_kind="app",
                 target_id=app.id, target_label=app.name, app_id=app.id,
                 details={"settings": ["logRetentionDays"], "logRetentionDays": days})
    return app


def prune_app(app: App, *, now=None, batch: int = PRUNE_BATCH) -> int:
    """Delete this app's entries older than its retention, in batches."""
    cutoff = (now or timezone.now()) - timedelta(days=retention_days(app))
    deleted = 0
    while True:
        ids = list(
            LogEntry.objects.filter(app=app, created_at__lt=cutoff).order_by("id").values_list("id", flat=True)[:batch]
        )
        if not ids:
            return deleted
        with transaction.atomic():
            count, _ = LogEntry.objects.filter(id__in=ids).delete()
        deleted += count


def prune_logs(*, now=None, batch: int = PRUNE_BATCH) -> dict[str, int]:
    """Prune every app's log to its retention. Returns {appId: deleted}
    for the apps that lost entries."""
    result = {}
    for app in App.objects.only("id", "settings").iterator():
        count = prune_app(app, now=now, batch=batch)
        if count:
            result[app.id] = count
            logger.info("pruned %s log entries of app %s", count, app.id)
    return result
