"""Email end to end on PostgreSQL and Redis: a daphne server (no worker
inside) and a separate worker process, the worker's email backend Django's
file-based one into a temporary directory (locmem does not cross
processes), a real widget socket.

A web user who is also linked by email gets a business message on the
web; it stays unread; after PARLEY_FAILOVER_SECONDS the failover sends it
by email (multipart, a Message-ID, Reply-To reply+<token>@...). The user's
reply, written like a mail client (quoted history, "On ... wrote:"),
POSTed as raw MIME to the integration's inbound URL, lands in the same
conversation with only the new text; the business's answer then goes by
email threaded to it (In-Reply-To the user's Message-ID, References both)."""

from email import message_from_bytes, policy
from email.utils import make_msgid

import pytest
import requests
from channels.db import database_sync_to_async as sync_to_async

from messaging.models import Client, Delivery, Integration, Message
from tests.support.live import LiveServer, WorkerProcess, wait_until
from tests.support.ws import SdkSocket, app_jwt, make_client, make_user, user_jwt

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS = "maria.lopez@gmail.com"
SECRET = "inbound-secret-for-the-test"


def setup_app(app):
    integration = Integration.objects.create(
        app=app, type="email", display_name="Tacos Inc", webhook_secret=SECRET,
        credentials={"fromAddress": "support@tacos.example", "fromName": "Tacos Inc"},
        details={"fromAddress": "support@tacos.example", "replyDomain": "tacos.example"})
    user = make_user(app, "maria")
    # Linked by email (a confirmed link) before she last used the widget.
    by_email = make_client(user, "email", minutes_ago=60, external_id=ADDRESS, integration=integration)
    return integration, user, by_email


def emails(folder) -> list:
    """The emails the file backend wrote, parsed, oldest first."""
    found = []
    for path in sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime):
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                found.append(message_from_bytes(chunk, policy=policy.default))
    return found


def reply_to(sent, text: str) -> bytes:
    """The user's answer as Gmail writes it: to the Reply-To address,
    threaded, with the quoted email below."""
    quoted = "\n".join("> " + line for line in sent.get_body(("plain",)).get_content().splitlines())
    return (f"From: Maria Lopez <{ADDRESS}>\r\nTo: {sent['Reply-To']}\r\nSubject: Re: {sent['Subject']}\r\n"
            f"Message-ID: {make_msgid(domain='mail.gmail.com')}\r\nIn-Reply-To: {sent['Message-ID']}\r\n"
            f"References: {sent['Message-ID']}\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=UTF-8\r\n\r\n{text}\r\n\r\n"
            f"On Tue, Dec 1, 2026 at 10:02 AM Tacos Inc <{sent['Reply-To']}> wrote:\r\n\r\n{quoted}\r\n").encode()


def post(server, app, user, text):
    response = requests.post(f"{server.url}/v1/appusers/{user.id}/messages",
                             json={"role": "appMaker", "type": "text", "text": text, "name": "Tacos Inc"},
                             headers={"Authorization": f"Bearer {app_jwt(app)}"}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["message"]["_id"]


async def test_a_web_users_unread_message_fails_over_to_email_and_the_reply_threads(settings, app, tmp_path):
    settings.PARLEY_FAILOVER_SECONDS = 2
    integration, user, by_email = await sync_to_async(setup_app)(app)
    env = {"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend", "EMAIL_FILE_PATH": str(tmp_path),
           "PARLEY_WORKER_INTERVAL": "0.1"}
    server = await sync_to_async(LiveServer)(worker=False, **env)
    worker = socket = None
    try:
        worker = await sync_to_async(WorkerProcess)(**env)
        socket = await SdkSocket.open(server.url)
        await socket.send({"type": "auth", "appToken": app.app_token, "appUserId": user.id,
                           "clientId": "browser-1", "jwt": await sync_to_async(user_jwt)(app, user.user_id)})
        assert (await socket.receive())["type"] == "ready"

        first = await sync_to_async(post)(server, app, user, "Your catering order is ready. When can you pick it up?")
        frame = await socket.receive_until(lambda f: f["type"] == "message", timeout=5)
        assert frame["message"]["_id"] == first
        # Not read on the web, and nothing by email yet (email cannot be silent).
        message = await sync_to_async(Message.objects.get)(id=first)
        assert message.read_at is None and emails(tmp_path) == []

        await sync_to_async(wait_until)(lambda: len(emails(tmp_path)) == 1, timeout=30,
                                        message=f"the failover email:\n{worker.output()[-3000:]}")
        [sent] = emails(tmp_path)
        assert sent["To"] == ADDRESS and sent["From"] == "Tacos Inc <support@tacos.example>"
        assert "Your catering order is ready" in sent.get_body(("plain",)).get_content()
        assert "Your catering order is ready" in sent.get_body(("html",)).get_content()

        @sync_to_async
        def failover():
            return Delivery.objects.select_related("client").get(message_id=first, purpose="failover")

        delivery = await failover()
        assert (delivery.client_id, delivery.state, delivery.notify) == (by_email.id, "sent", True)
        assert delivery.platform_message_id == sent["Message-ID"]
        assert sent["Reply-To"] == f"reply+{delivery.client.reply_token}@tacos.example"
        message = await sync_to_async(Message.objects.get)(id=first)
        assert message.read_at is None

        # Maria answers from her mail client; the forwarder posts the raw MIME.
        raw = reply_to(sent, "Thursday at 6 works.")
        answer = await sync_to_async(requests.post)(
            f"{server.url}/integrations/email/{integration.id}/webhook", data=raw,
            headers={"Content-Type": "message/rfc822", "X-Parley-Secret": SECRET}, timeout=10)
        assert answer.status_code == 200, answer.text
        frame = await socket.receive_until(lambda f: f["type"] == "message" and f["message"]["role"] == "appUser",
                                           timeout=20)
        assert frame["message"]["text"] == "Thursday at 6 works."

        @sync_to_async
        def her_messages():
            return list(Message.objects.filter(role="appUser").values_list("app_user_id", "text"))

        assert await her_messages() == [(user.id, "Thursday at 6 works.")]
        client = await sync_to_async(Client.objects.get)(pk=by_email.pk)
        reply_id = raw.split(b"Message-ID: ")[1].split(b"\r\n")[0].decode()
        assert client.last_inbound_ref == reply_id and not client.unverified

        # The business answers: email is now where she was seen last, and it threads.
        await sync_to_async(post)(server, app, user, "See you Thursday!")
        await sync_to_async(wait_until)(lambda: len(emails(tmp_path)) == 2, timeout=30,
                                        message=f"the threaded answer:\n{worker.output()[-3000:]}")
        threaded = emails(tmp_path)[1]
        assert threaded["In-Reply-To"] == reply_id
        assert threaded["References"].split() == [sent["Message-ID"], reply_id]
        assert threaded["Subject"] == "Re: App A" and threaded["Reply-To"] == sent["Reply-To"]
    finally:
        if socket:
            await socket.close()
        if worker:
            await sync_to_async(worker.stop)()
        await sync_to_async(server.stop)()
