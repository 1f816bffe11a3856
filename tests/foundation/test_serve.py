"""`manage.py serve` (what `make run` starts) is one daphne process with the
task worker inside it."""

import re

import pytest
import requests

from tests.support.tasks_probe import probe
from tests.support.live import LiveServer, wait_until

pytestmark = pytest.mark.smoke


@pytest.mark.django_db(transaction=True)
def test_it_serves_the_login_page_and_runs_tasks_in_process():
    server = LiveServer(worker=True)
    try:
        page = requests.get(server.url + "/login/", timeout=5)
        assert page.status_code == 200
        assert re.search(r'<input[^>]+name="username"', page.text)
        assert re.search(r'<input[^>]+name="password"', page.text)
        # A task enqueued from this process is run by the server's own worker.
        result = probe.enqueue("hello")
        wait_until(lambda: _finished(result), timeout=20, message="the in-process worker")
        result.refresh()
        assert result.return_value == "hello"
    finally:
        server.stop()


def _finished(result):
    result.refresh()
    return result.is_finished
