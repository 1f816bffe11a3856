"""The shared text fallback: numbered reply options and the answer that
picks one, other channels' text unchanged, long texts split."""

import pytest

from messaging.integrations.fallback import numbered_reply, render_caption, render_text, split_text, utf16_length
from messaging.models import App, Message

REPLIES = [
    {"_id": "a1", "type": "reply", "text": "Yes", "payload": "YES_COFFEE"},
    {"_id": "a2", "type": "reply", "text": "No", "payload": "NO_COFFEE"},
    {"_id": "a3", "type": "reply", "text": "Later", "payload": "LATER"},
]


def message(**fields):
    return Message(app=App(name="Tacos Inc"), role="appMaker", **fields)


def test_replies_are_numbered_only_where_the_channel_takes_numbers():
    coffee = message(type="text", text="Coffee?", actions=REPLIES)
    assert render_text(coffee, numbered_replies=True) == (
        "Coffee?\n1. Yes\n2. No\n3. Later\nReply with the number of your choice.")
    assert render_text(coffee) == "Coffee?"


def test_replies_follow_a_location_request_and_an_image_url():
    ask = message(type="image", text="Here?", media_url="http://example.org/a.png", actions=[
        {"type": "locationRequest", "text": "Send location"}, REPLIES[0]])
    assert render_text(ask, numbered_replies=True) == (
        "Here?\nhttp://example.org/a.png\nTacos Inc has requested a location\n1. Yes\n"
        "Reply with the number of your choice.")
    assert render_caption(ask, numbered_replies=True) == (
        "Here?\nTacos Inc has requested a location\n1. Yes\nReply with the number of your choice.")
    assert render_text(ask) == "Here?\nhttp://example.org/a.png\nTacos Inc has requested a location"


@pytest.mark.parametrize("answer, payload", [
    ("1", "YES_COFFEE"), (" 2 ", "NO_COFFEE"), ("3.", "LATER"), ("2)", "NO_COFFEE"), ("03", "LATER"),
])
def test_a_bare_number_picks_that_reply(answer, payload):
    assert numbered_reply(message(type="text", text="Coffee?", actions=REPLIES), answer)["payload"] == payload


@pytest.mark.parametrize("answer", ["0", "4", "1 please", "one", "", "1.5", "-1", "12345"])
def test_anything_else_picks_nothing(answer):
    assert numbered_reply(message(type="text", text="Coffee?", actions=REPLIES), answer) is None


def test_numbers_count_reply_actions_only():
    mixed = message(type="text", text="Hi", actions=[
        {"type": "locationRequest", "text": "Where?"}, *REPLIES[1:]])
    assert numbered_reply(mixed, "1")["payload"] == "NO_COFFEE"
    assert numbered_reply(message(type="text", text="Hi", actions=[]), "1") is None


def test_split_text_cuts_at_spaces_and_lines_within_the_limit():
    assert split_text("short", 10) == ["short"]
    assert split_text("", 10) == [""]
    assert split_text("aaaa bbbb cccc", 9) == ["aaaa bbbb", "cccc"]
    assert split_text("aaaa\nbbbb cccc", 12) == ["aaaa\nbbbb", "cccc"]
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_split_text_counts_utf16_units():
    parts = split_text("\U0001F32E" * 7, 4)
    assert parts == ["\U0001F32E" * 2] * 3 + ["\U0001F32E"]
    assert all(utf16_length(part) <= 4 for part in parts)
