"""Refuse NUL bytes and lone surrogates in a request's URL and credential
headers before anything reads them.

PostgreSQL refuses NUL in any text it is given (a 500 from the first query
that carries it: the app token, a path's appUserId or deviceId, a `q`
search), and a lone surrogate cannot be encoded for it. Every view would
need the same check on every path segment, query parameter and header; a
middleware is the one place all of them pass, dashboard and API alike.
API paths get Smooch's error JSON (400 bad_request), the dashboard a plain
400 page. Bodies are checked by messaging/jsonbody.py (JSON) and Django's
forms (whose CharField already refuses NUL).

It also gives a chunked body (Transfer-Encoding: chunked, no Content-Length,
as the official clients send an image upload under Node) its length: the
ASGI handler has already spooled the whole body, but Django's multipart
parser reads nothing without a CONTENT_LENGTH.

Sync and async capable (as CorsMiddleware), so it never forces a thread hop.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpResponseBadRequest, JsonResponse

from messaging.api.cors import API_PREFIXES
from messaging.jsonbody import bad_string

CHECKED_HEADERS = ("HTTP_AUTHORIZATION", "HTTP_APP_TOKEN")


def fault(request) -> str | None:
    """What is wrong with the request's path, query or credential headers."""
    problem = bad_string(request.path)
    if problem:
        return f"The URL path contains {problem}."
    for key, values in request.GET.lists():
        if bad_string(key) or any(bad_string(v) for v in values):
            return f"The query parameter {key!r} contains a NUL byte or an unpaired surrogate."
    for header in CHECKED_HEADERS:
        value = request.META.get(header)
        if value and bad_string(value):
            name = header.removeprefix("HTTP_").replace("_", "-").lower()
            return f"The {name} header contains {bad_string(value)}."
    return None


def measure_body(request) -> None:
    """Set CONTENT_LENGTH from the spooled body when the client sent none."""
    stream = getattr(request, "_stream", None)
    if request.META.get("CONTENT_LENGTH") or not hasattr(stream, "seekable") or not stream.seekable():
        return
    at = stream.tell()
    size = stream.seek(0, 2)
    stream.seek(at)
    if size:
        request.META["CONTENT_LENGTH"] = str(size)


def refusal(request, description: str):
    if request.path.startswith(API_PREFIXES):
        return JsonResponse({"error": {"code": "bad_request", "description": description}}, status=400)
    return HttpResponseBadRequest(description, content_type="text/plain; charset=utf-8")


class RequestGuardMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self.__acall__(request)
        measure_body(request)
        problem = fault(request)
        return refusal(request, problem) if problem else self.get_response(request)

    async def __acall__(self, request):
        measure_body(request)
        problem = fault(request)
        return refusal(request, problem) if problem else await self.get_response(request)
