"""Rendering helpers shared by the dashboard views (STYLE.md's htmx section).

A page template defines its updatable parts with `{% partialdef name inline %}`;
an htmx request gets just `template#name`, a plain request the whole page,
so every form also works without JavaScript. Bad input re-renders with 422,
which base.html tells htmx to swap like a success.
"""

from django.conf import settings
from django.shortcuts import redirect, render
from django_htmx.http import HttpResponseClientRedirect

INVALID = 422


def render_part(request, template: str, partial: str, context: dict, status: int = 200):
    name = f"{template}#{partial}" if request.htmx else template
    return render(request, name, context, status=status)


def redirect_anywhere(request, url: str):
    """Leave the page: a full navigation for htmx too."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def absolute_url(request, path: str) -> str:
    """A link for an email: PARLEY_PUBLIC_URL if set, else the request's host."""
    if settings.PARLEY_PUBLIC_URL:
        return settings.PARLEY_PUBLIC_URL + path
    return request.build_absolute_uri(path)
