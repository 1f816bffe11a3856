"""The browser fixtures keep pages on loopback: a request or websocket to
anywhere else is aborted before it is sent (Chromium reports it blocked by
the client, not a failed DNS lookup or connection), recorded, and fails the
test; loopback requests go ahead."""

import pytest

from tests.support.browser import LoopbackOnly, launch_chromium
from tests.support.live import free_port

pytestmark = pytest.mark.browser

OUTSIDE = """<img src="https://example.com/x.png" alt="">
<script>
  const socket = new WebSocket("wss://example.com/socket");
  socket.onclose = () => { window.socketClosed = true; };
</script>"""


def test_a_page_asking_beyond_loopback_is_aborted_and_fails_the_test():
    loopback_only = LoopbackOnly()
    failed = []
    with launch_chromium() as browser:
        browser = loopback_only.guard_browser(browser)
        page = browser.new_context().new_page()
        page.on("requestfailed", lambda request: failed.append((request.url, request.failure)))
        page.set_content(OUTSIDE)
        page.wait_for_function("window.socketClosed === true")
        # Loopback goes ahead: a port nobody serves refuses the connection.
        nobody = f"http://127.0.0.1:{free_port()}/nothing"
        page.evaluate("url => fetch(url).catch(() => null)", nobody)
        # A page from browser.new_page() is guarded too.
        other = browser.new_page()
        other.set_content('<img src="https://www.gravatar.com/avatar/x?d=mp" alt="">')
        other.close()

    assert dict(failed) == {"https://example.com/x.png": "net::ERR_BLOCKED_BY_CLIENT.Inspector",
                            nobody: "net::ERR_CONNECTION_REFUSED"}
    assert sorted(loopback_only.aborted) == [
        "https://example.com/x.png", "https://www.gravatar.com/avatar/x?d=mp", "wss://example.com/socket",
    ]
    with pytest.raises(pytest.fail.Exception) as failure:
        loopback_only.check()
    assert str(failure.value) == (
        "the page tried to reach beyond loopback (aborted): " + ", ".join(loopback_only.aborted)
    )
