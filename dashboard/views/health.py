"""The operator's endpoints: /healthz (the process is up), /readyz (it can
serve: database and channel layer answer; messaging/services/readiness.py)
and /metrics (Prometheus text format; messaging/metrics.py). No session, no
CSRF: load balancers, orchestrators and Prometheus call them."""

from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST

from messaging import metrics
from messaging.services.readiness import failures, operator_may_read

FORBIDDEN = {"status": "forbidden", "description": "This is shown to the addresses in PARLEY_OPS_ALLOW "
             "or with the PARLEY_OPS_TOKEN bearer token."}


@require_safe
def healthz(request):
    return JsonResponse({"status": "ok"})


@require_safe
async def readyz(request):
    if not operator_may_read(request):
        return JsonResponse(FORBIDDEN, status=403)
    failed = await failures()
    checks = {part: failed.get(part, "ok") for part in ("database", "channelLayer")}
    if failed:
        return JsonResponse({"status": "unready", "checks": checks}, status=503)
    return JsonResponse({"status": "ready", "checks": checks})


@require_safe
def metrics_view(request):
    if not operator_may_read(request):
        return JsonResponse(FORBIDDEN, status=403)
    return HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)
