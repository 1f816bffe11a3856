"""Routes of the live dashboard: users, conversations, composer, Log tab, overview."""

urlpatterns = []
