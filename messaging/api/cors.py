"""CORS for the REST API, so web pages can call it (Smooch allows any origin).

Credentials are never sent cross-origin: the API authenticates with headers
(app token or JWT), not cookies, so `*` is safe here. Only /v1/ and /v1.1/
paths get these headers; the dashboard stays same-origin.
"""

from django.http import HttpResponse

API_PREFIXES = ("/v1/", "/v1.1/")
ALLOW_HEADERS = "authorization, content-type, app-token, x-requested-with"
ALLOW_METHODS = "GET, POST, PUT, DELETE, OPTIONS"


class CorsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PREFIXES):
            return self.get_response(request)
        if request.method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in request.META:
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Methods"] = ALLOW_METHODS
            response["Access-Control-Allow-Headers"] = ALLOW_HEADERS
            response["Access-Control-Max-Age"] = "86400"
        else:
            response = self.get_response(request)
        response["Access-Control-Allow-Origin"] = "*"
        response["Access-Control-Expose-Headers"] = "retry-after"
        return response
