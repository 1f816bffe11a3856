"""A shared part down for a moment: the database or Redis restarting,
refusing or dropping connections. Callers that meet one of UNAVAILABLE
answer "try again" (the API: 503 with Retry-After; a platform's webhook:
503, which platforms retry) or wait and try again (the worker), rather than
failing for good or crashing: nothing accepted is lost, because nothing was
accepted."""

import redis.exceptions
from django.db import InterfaceError, OperationalError

# OperationalError: connection refused, the pool found no connection in its
# timeout, the server shut the session down; InterfaceError: a connection
# the restart closed under us. Redis: Django's cache and the channel layer
# raise redis-py's errors.
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
UNAVAILABLE = (OperationalError, InterfaceError, *REDIS_DOWN)

# What a refused caller is told to wait: a restart takes a few seconds.
RETRY_AFTER_SECONDS = 5
