"""Every Huey task module, imported so a worker knows all tasks. Workers import this module."""

from collection import queue
from collection.harvest import tasks as harvest_tasks
from collection.ingest import tasks as ingest_tasks
from collection.preservation import tasks as preservation_tasks
from collection.queue import huey, search_huey
from collection.search import tasks as search_tasks
from collection.stats import tasks as stats_tasks

__all__ = [
    "harvest_tasks",
    "huey",
    "ingest_tasks",
    "preservation_tasks",
    "queue",
    "search_huey",
    "search_tasks",
    "stats_tasks",
]
