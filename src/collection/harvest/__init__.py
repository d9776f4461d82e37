"""Harvesting other OAI-PMH repositories in: sources staff register, runs that page through a
source's list with Sickle (client.py), and the records made items of a collection (service.py),
incrementally, idempotently, with deletions withdrawing the local copy."""
