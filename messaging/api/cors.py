"""CORS for the REST API, so web pages can call it (Smooch allows any origin).

Credentials are never sent cross-origin: the API authenticates with headers
(app token or JWT), not cookies, so `*` is safe here and
`Access-Control-Allow-Credentials` is never sent. Only /v1/ and /v1.1/ paths
get these headers; the dashboard stays same-origin. A preflight is answered
here (204) without reaching a view, whatever the path.

An app's allowed origins (Web Messenger settings) are not applied here: a
preflight carries no credential, so it cannot tell which app it is for. The
call itself is refused (403, messaging.api.auth._check_origin) and, like
every API response, carries these headers, so the page's script (the
widget) can read why. A refused call changes nothing, so answering the
preflight for any origin grants nothing.

Sync and async capable, so it never forces a thread hop on async views.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpResponse

API_PREFIXES = ("/v1/", "/v1.1/")
ALLOW_HEADERS = "authorization, content-type, app-token, x-requested-with"
ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
EXPOSE_HEADERS = "retry-after"
MAX_AGE = "86400"


def is_preflight(request) -> bool:
    return request.method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in request.META


def preflight_response() -> HttpResponse:
    response = HttpResponse(status=204)
    response["Access-Control-Allow-Methods"] = ALLOW_METHODS
    response["Access-Control-Allow-Headers"] = ALLOW_HEADERS
    response["Access-Control-Max-Age"] = MAX_AGE
    return response


def add_headers(response):
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    return response


class CorsMiddleware:
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
        if not request.path.startswith(API_PREFIXES):
            return self.get_response(request)
        if is_preflight(request):
            return add_headers(preflight_response())
        return add_headers(self.get_response(request))

    async def __acall__(self, request):
        if not request.path.startswith(API_PREFIXES):
            return await self.get_response(request)
        if is_preflight(request):
            return add_headers(preflight_response())
        return add_headers(await self.get_response(request))
