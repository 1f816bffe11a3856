"""Message templates (Smooch v1.1 `templates`, smooch-core 8.11.4's
`templates.*`): create, list (`limit`, `offset`), get, update and delete an
app's reusable message bodies, app scope or account scope at
/v1.1/apps/{appId}/templates. The same objects and service as the
dashboard's canned replies (messaging.services.templates)."""

from django.http import JsonResponse

from messaging.api import query
from messaging.api.auth import api_view
from messaging.services import templates
from messaging.validators import validate_template

LIST_LIMIT = 100  # the most one page holds, and the default
MAX_OFFSET = 2**31 - 1


@api_view(scope="app")
def create(request):
    body = validate_template(request.data, partial=False)
    template = templates.create_template(request.app, name=body["name"], message=body["message"])
    return JsonResponse({"template": templates.template_json(template)}, status=201)


@api_view(scope="app")
def list_(request):
    limit = query.number(request, "limit", LIST_LIMIT, 1, LIST_LIMIT)
    offset = query.number(request, "offset", 0, 0, MAX_OFFSET)
    rows = templates.list_templates(request.app)[offset:offset + limit + 1]
    return JsonResponse({"templates": [templates.template_json(t) for t in rows[:limit]],
                         "hasMore": len(rows) > limit})


@api_view(scope="app")
def get(request, templateId):
    return JsonResponse({"template": templates.template_json(templates.get_template(request.app, templateId))})


@api_view(scope="app")
def update(request, templateId):
    # Another app's template is a 404 whatever the body holds: its
    # existence is not told by a validation error first.
    templates.get_template(request.app, templateId)
    body = validate_template(request.data, partial=True)
    template = templates.update_template(request.app, templateId, name=body.get("name"),
                                         message=body.get("message"))
    return JsonResponse({"template": templates.template_json(template)})


@api_view(scope="app")
def delete(request, templateId):
    templates.delete_template(request.app, templateId)
    return JsonResponse({})
