"""The base URL clients and platforms reach Parley at: PARLEY_PUBLIC_URL, or
the scheme and host the request came in on (believed from forwarded headers
only from trusted proxies: messaging/client_address.py)."""

from django.conf import settings


def base_url(request) -> str:
    return settings.PARLEY_PUBLIC_URL or f"{request.scheme}://{request.get_host()}"
