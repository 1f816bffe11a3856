"""The integration interface: capabilities from the channel table, text
fallbacks, the HTTP helper's error classes, the fake channel's webhook."""

import pytest

from messaging.integrations import registry
from messaging.integrations.base import PlatformError, http_post
from messaging.integrations.fallback import render_text
from messaging.models import App, Message


@pytest.mark.parametrize("type_, push, silent, typing", [
    ("web", False, True, True),
    ("messenger", True, True, True),
    ("telegram", True, False, True),
    ("twilio", True, False, False),
    ("line", True, False, False),
    ("viber", True, False, False),
    ("email", True, False, False),
    ("fake", True, True, True),
])
def test_capabilities_follow_the_channel_table(type_, push, silent, typing):
    caps = registry.capabilities(type_)
    assert (caps.push, caps.silent, caps.typing) == (push, silent, typing)


def test_an_unknown_channel_can_do_nothing():
    caps = registry.capabilities("pigeon")
    assert not caps.push and not caps.silent and not caps.native


def message(**fields):
    return Message(app=App(name="Tacos Inc"), role="appMaker", **fields)


def test_list_and_actions_fall_back_to_text():
    assert render_text(message(type="text", text="Pick one", actions=[
        {"type": "link", "text": "Menu", "uri": "http://example.org/menu"},
        {"type": "postback", "text": "Call me", "payload": "CALL"},
        {"type": "locationRequest", "text": "Send location"},
    ])) == "Pick one\nMenu http://example.org/menu\nTacos Inc has requested a location"
    assert render_text(message(type="list", items=[{"title": "One"}, {"title": "Two", "description": "2"}])) == (
        "1. One\n\n2. Two\n2")
    assert render_text(message(type="image", text="Look", media_url="http://example.org/a.png")) == (
        "Look\nhttp://example.org/a.png")


def test_http_post_classifies_platform_errors(fake_platform):
    fake_platform.fail_next(502)
    with pytest.raises(PlatformError) as error:
        http_post(fake_platform.url + "/messages", json={})
    assert not error.value.permanent and error.value.status == 502
    fake_platform.fail_next(429, headers={"Retry-After": "7"})
    with pytest.raises(PlatformError) as error:
        http_post(fake_platform.url + "/messages", json={})
    assert not error.value.permanent and error.value.retry_after == 7
    fake_platform.fail_next(403)
    with pytest.raises(PlatformError) as error:
        http_post(fake_platform.url + "/messages", json={})
    assert error.value.permanent
    with pytest.raises(PlatformError) as error:
        http_post("http://127.0.0.1:9/nothing", json={}, timeout=2)
    assert not error.value.permanent and error.value.code == "unreachable"
