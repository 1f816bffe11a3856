"""The page an email link confirmation points at (POST /v1/appusers/{id}/channels
with type email sends it): a GET shows what would be confirmed and a button;
only the POST confirms. Mail scanners open every link in a message they
check, so a GET that confirmed would confirm links nobody asked for."""

from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from messaging.services import appusers

PAGE = "dashboard/email_confirm.html"


@require_http_methods(["GET", "POST"])
def confirm(request, token):
    if request.method == "GET":
        client = appusers.pending_email_link(token)
        status = 200 if client is not None else 404
        return render(request, PAGE, {"client": client, "app_name": client.app_user.app.name if client else "",
                                      "state": "ask" if client else "invalid"}, status=status)
    client = appusers.confirm_email_link(token)
    if client is None:
        return render(request, PAGE, {"state": "invalid"}, status=404)
    return render(request, PAGE, {"client": client, "app_name": client.app_user.app.name, "state": "done"})
