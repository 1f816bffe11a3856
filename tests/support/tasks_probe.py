"""A task that returns its argument: tests/foundation/test_serve.py enqueues
it to prove that the worker inside `manage.py serve` runs tasks (the
server's worker imports it by path, from the checkout)."""

from django.tasks import task


@task
def probe(value: str) -> str:
    return value
