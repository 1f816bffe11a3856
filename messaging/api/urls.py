"""REST API routes (Smooch v1), mounted at /v1/ and /v1.1/."""

urlpatterns = []
