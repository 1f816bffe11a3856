"""The people of the tests (healthchecks' hc/test.py cast): team A's owner,
admin and agent; team B's stranger."""

from messaging.models import Membership, User

PASSWORD = "correct horse battery"


def add_member(team, email, role) -> Membership:
    user = User.objects.create_user(email=email, password=PASSWORD)
    return Membership.objects.create(team=team, user=user, role=role)
