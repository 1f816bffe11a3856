"""The operator's probes: /healthz (the process is up) and /readyz (it can
serve: database and channel layer answer; messaging/services/readiness.py).
Plain JSON, no session, no CSRF: load balancers and orchestrators call them."""

from django.http import JsonResponse
from django.views.decorators.http import require_safe

from messaging.services.readiness import failures, operator_may_read


@require_safe
def healthz(request):
    return JsonResponse({"status": "ok"})


@require_safe
async def readyz(request):
    if not operator_may_read(request):
        return JsonResponse({"status": "forbidden", "description": "Readiness is shown to the addresses in "
                             "PARLEY_OPS_ALLOW or with the PARLEY_OPS_TOKEN bearer token."}, status=403)
    failed = await failures()
    checks = {part: failed.get(part, "ok") for part in ("database", "channelLayer")}
    if failed:
        return JsonResponse({"status": "unready", "checks": checks}, status=503)
    return JsonResponse({"status": "ready", "checks": checks})
