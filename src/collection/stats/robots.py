"""Robots and machines, by the COUNTER-Robots list (the ``counter-robots`` package): the one
module that reads it, so the version used is known and recorded."""

from __future__ import annotations

from functools import lru_cache

import counter_robots

VERSION: str = counter_robots.__version__


@lru_cache(maxsize=8192)  # the list is a long regular expression: ~0.3 ms a user agent
def is_robot(user_agent: str) -> bool:
    """A crawler, a script or no browser at all: never counted (COUNTER 5.1, section 7.8)."""
    agent = user_agent.strip()
    return not agent or bool(counter_robots.is_robot_or_machine(agent))
