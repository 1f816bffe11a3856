"""Small views: the ping (a trivial JSON view, the benchmark's floor), the
OpenAPI document and the JSON 404 for unknown API paths."""

from functools import wraps

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from messaging.api.auth import error_response
from messaging.api.openapi import document


def get_only(view):
    """A public GET route: any other method is the JSON 405 every API
    route gives, with its `Allow` header, and no CSRF check (it holds no
    session state: a POST with a session cookie still gets the API's JSON
    405, not Django's HTML 403)."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request):
        if request.method not in ("GET", "HEAD"):
            response = error_response(405, "method_not_allowed",
                                      f"{request.method} is not allowed on {request.path}.")
            response["Allow"] = "GET, HEAD"
            return response
        return view(request)

    wrapper.api_methods = ["GET"]
    return wrapper


@get_only
def ping(request):
    return JsonResponse({"ok": True})


@get_only
def openapi_json(request):
    return JsonResponse(document())


@csrf_exempt
def unknown(request, rest=""):
    return error_response(404, "not_found", f"No API route {request.method} {request.path}.")
