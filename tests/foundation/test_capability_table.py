"""The README's channel x capability table is the one the code declares."""

from pathlib import Path

from django.core.management import call_command

from messaging.integrations import catalogue

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_table_is_generated_from_the_channels():
    found = catalogue.readme_section(README.read_text())
    assert found is not None, f"README.md lacks the {catalogue.START} / {catalogue.END} markers"
    assert found == catalogue.table(), (
        "README.md's channel table differs from what the channels declare: "
        "run `.venv/bin/python manage.py channeltable --write`")


def test_the_table_lists_every_built_in_channel_and_never_the_test_one(capsys):
    call_command("channeltable")
    printed = capsys.readouterr().out
    assert "`web`" in printed and "`telegram`" in printed and "`twilio`" in printed
    assert "`fake`" not in printed
