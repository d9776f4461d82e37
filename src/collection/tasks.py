"""Every Huey task module, imported so a worker knows all tasks. Workers import this module."""

from collection import queue
from collection.queue import huey

__all__ = ["huey", "queue"]
