"""Small views: the ping (a trivial JSON view, the benchmark's floor), the
OpenAPI document and the JSON 404 for unknown API paths."""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from messaging.api.auth import error_response
from messaging.api.openapi import document


def ping(request):
    if request.method not in ("GET", "HEAD"):
        return error_response(405, "method_not_allowed", f"{request.method} is not allowed on {request.path}.")
    return JsonResponse({"ok": True})


ping.api_methods = ["GET"]


def openapi_json(request):
    if request.method not in ("GET", "HEAD"):
        return error_response(405, "method_not_allowed", f"{request.method} is not allowed on {request.path}.")
    return JsonResponse(document())


openapi_json.api_methods = ["GET"]


@csrf_exempt
def unknown(request, rest=""):
    return error_response(404, "not_found", f"No API route {request.method} {request.path}.")
