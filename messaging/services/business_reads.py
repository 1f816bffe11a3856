"""The business side of "read": a member opened (or is watching) a
conversation. Drives the dashboard's unread markers: a user's messages
received after `AppUser.app_maker_last_read` are unread for the business."""

from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from messaging.models import AppUser, Message


def mark_read_by_business(app_user: AppUser) -> None:
    now = timezone.now()
    AppUser.objects.filter(pk=app_user.pk).update(app_maker_last_read=now)
    app_user.app_maker_last_read = now


def with_business_unread(app_users):
    """Annotate `business_unread`: the user's messages the business has not
    read yet (one correlated count per listed user, over message_history)."""
    unread = (
        Message.objects.filter(app_user=OuterRef("pk"), role="appUser")
        .filter(Q(received__gt=OuterRef("app_maker_last_read")) | Q(app_user__app_maker_last_read__isnull=True))
        .order_by()
        .values("app_user")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return app_users.annotate(business_unread=Coalesce(Subquery(unread), 0))
