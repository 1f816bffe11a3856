"""Background tasks (django.tasks). Arguments are ids; each task reloads
its rows and returns early when the work is already done."""
