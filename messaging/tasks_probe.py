"""A task that returns its argument: `manage.py check_worker` uses it to
prove a worker is running (the suite uses it the same way)."""

from django.tasks import task


@task
def probe(value: str) -> str:
    return value
