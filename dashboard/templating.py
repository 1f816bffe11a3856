"""Django's template backend, with pages that always encode.

A row stored before the input checks (SQLite keeps a JSON "\\udfff"
escaped and gives it back as a lone surrogate; imported data) would make
a rendered page unencodable as UTF-8: Django raises UnicodeEncodeError
building the response, and one bad row takes down every page and partial
that shows it. Every template render passes here (pages, htmx partials,
emails), so this is the one place to make it harmless: a lone surrogate is
shown as U+FFFD. The check costs one scan of the output (`isascii`, then a
regex only when there is non-ASCII text).
"""

import re

from django.template.backends.django import DjangoTemplates

_SURROGATE = re.compile("[\ud800-\udfff]")


def printable(text: str) -> str:
    """`text` with lone surrogates as U+FFFD (pairs of surrogate code points
    are joined into the character they encode)."""
    if text.isascii() or _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


class PrintableTemplate:
    """A backend template whose output is always encodable (see above)."""

    def __init__(self, template):
        self.template = template

    def __getattr__(self, name):
        return getattr(self.template, name)

    def render(self, context=None, request=None):
        return printable(self.template.render(context, request))


class Templates(DjangoTemplates):
    def get_template(self, template_name):
        return PrintableTemplate(super().get_template(template_name))

    def from_string(self, template_code):
        return PrintableTemplate(super().from_string(template_code))
