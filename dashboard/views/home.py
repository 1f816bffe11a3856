from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from messaging.models import App


@login_required
def home(request):
    apps = App.objects.for_user(request.user).select_related("team").order_by("name")
    return render(request, "dashboard/home.html", {"apps": apps})
