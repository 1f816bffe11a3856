"""The Web Messenger across a web process's restart: the page reaches two
daphne processes through a forwarder standing in for the proxy; the one
holding the widget's socket gets SIGTERM, closes it with 1012, and the
widget reconnects at once through the proxy to the other, where the next
message reaches it. Each message shows once."""

import signal

import pytest
from playwright.sync_api import expect

from tests.support.live import LiveServer, wait_until
from tests.support.tcp_forwarder import TcpForwarder
from tests.widget.conftest import Business

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_widget_reconnects_to_another_process_when_its_own_restarts(page, app, settings):
    assert settings.REDIS_URL, "make test runs this on Redis: two processes share the channel layer"
    proxy = TcpForwarder(0)
    proxy_url = f"http://127.0.0.1:{proxy.port}"
    a = LiveServer(worker=False, PARLEY_PUBLIC_URL=proxy_url)
    b = LiveServer(worker=False, PARLEY_PUBLIC_URL=proxy_url)
    proxy.retarget(a.port)
    try:
        page.goto(f"{proxy_url}/demo/{app.id}/")
        page.wait_for_function("() => window.Parley && Parley.getUser()")
        app_user_id = page.evaluate("Parley.getUser()._id")
        page.evaluate("window.seen = []; Parley.on('connected', () => seen.push('connected'));"
                      "Parley.on('disconnected', () => seen.push('disconnected'))")
        page.get_by_role("button", name="Open chat with App A").click()
        log = page.get_by_role("log", name="Conversation")
        Business(a.url, app).send(app_user_id, text="Before the restart")
        expect(log.locator(".pm-appMaker", has_text="Before the restart")).to_have_count(1)

        proxy.retarget(b.port)  # the proxy sends new connections to b
        a.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: a.proc.poll() is not None, timeout=15, message="a to stop")
        assert "closed 1 websockets with 1012" in a.output()
        wait_until(lambda: page.evaluate("seen.join()").endswith("disconnected,connected"), timeout=10,
                   message="the widget reconnected")

        Business(b.url, app).send(app_user_id, text="After the restart")
        expect(log.locator(".pm-appMaker", has_text="After the restart")).to_have_count(1)
        expect(log.locator(".pm-appMaker", has_text="Before the restart")).to_have_count(1)
    finally:
        a.stop()
        b.stop()
        proxy.close()
