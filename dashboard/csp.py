"""Content security policies by part of the site.

The dashboard's policy is settings.SECURE_CSP (own scripts and styles only,
never framed). Two parts of Parley are not the dashboard:

- The API (/v1/, /v1.1/) and the platform webhooks (/integrations/) answer
  JSON to the widget on the business's own site, to servers and to
  platforms. A policy governs documents, and these are never rendered as
  one, so they carry none: no header to keep in step with the widget's
  host pages.
- Uploaded media (/media/) is shown by the widget on other origins and
  opened full size in a tab. It gets a sandbox policy that runs nothing (an
  uploaded file is never a page of Parley's origin) and, with no
  frame-ancestors, stays embeddable.

The public demo page sets its own policy with Django's `csp_override`
(dashboard/views/widget.py), as may any view; this middleware leaves a
response alone when a view has chosen.
"""

from django.utils.csp import CSP

NO_POLICY = {}
MEDIA_POLICY = {
    "default-src": [CSP.NONE],
    "img-src": [CSP.SELF],
    "sandbox": True,
}
POLICIES_BY_PREFIX = (
    ("/v1/", NO_POLICY),
    ("/v1.1/", NO_POLICY),
    ("/integrations/", NO_POLICY),
    ("/media/", MEDIA_POLICY),
)


def policy_for_path(path):
    """The policy for a path outside the dashboard, or None for the
    dashboard's own (settings.SECURE_CSP)."""
    for prefix, policy in POLICIES_BY_PREFIX:
        if path.startswith(prefix):
            return policy
    return None


class PathPolicyMiddleware:
    """Chooses the widget's and the API's policy. Listed after Django's
    ContentSecurityPolicyMiddleware, so it sees the response first; it sets
    the attribute Django's own `csp_override` decorator sets
    (`_csp_config`), and only when the view set none."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = policy_for_path(request.path)
        if policy is not None and not hasattr(response, "_csp_config"):
            response._csp_config = policy
        return response
