"""`manage.py receive_email <integrationId>`: one RFC 822 message on standard
input, stored for the worker like a POST to the integration's inbound URL
(an MTA's pipe transport: Postfix `pipe`, Exim `pipe`, procmail, or an
alias such as `parley: "|/srv/parley/.venv/bin/python /srv/parley/manage.py
receive_email <id>"`).

Exit statuses are sendmail's (sysexits.h), so the MTA does the right thing:
0 stored (or seen before), 65 EX_DATAERR not an email (bounced), 67
EX_NOUSER no such email integration (bounced), 75 EX_TEMPFAIL the database
could not take it (the MTA keeps the message and tries again)."""

import sys

from django.core.management.base import BaseCommand
from django.db import DatabaseError

from messaging.integrations.base import InboundRefused
from messaging.integrations.email import MAIL_MAX_BYTES, Email
from messaging.models import Integration
from messaging.services import inbound

EX_DATAERR, EX_NOUSER, EX_TEMPFAIL = 65, 67, 75


class Command(BaseCommand):
    help = "Store one email read from standard input (an MTA pipe) for an email integration."

    def add_arguments(self, parser):
        parser.add_argument("integration_id", help="the email integration's id (its inbound URL shows it)")
        parser.add_argument("--recipient", default="",
                            help="the envelope recipient, when the MTA passes it (e.g. Postfix ${recipient})")

    def handle(self, integration_id, recipient, **options):
        integration = Integration.objects.select_related("app").filter(id=integration_id, type=Email.type).first()
        if integration is None:
            self.stderr.write(f"No email integration {integration_id}.")
            sys.exit(EX_NOUSER)
        raw = sys.stdin.buffer.read(MAIL_MAX_BYTES + 1)
        if len(raw) > MAIL_MAX_BYTES:
            self.stderr.write(f"The email is over {MAIL_MAX_BYTES} bytes.")
            sys.exit(EX_DATAERR)
        try:
            stored = inbound.store(integration, [Email.raw_event(raw, recipient)])
        except InboundRefused as refused:
            self.stderr.write(refused.message)
            sys.exit(EX_DATAERR)
        except DatabaseError as error:
            self.stderr.write(f"Not stored, try again: {error}")
            sys.exit(EX_TEMPFAIL)
        self.stdout.write("stored" if stored else "seen before")
