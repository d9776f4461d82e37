"""Cataloguing: items with Dublin Core and local metadata."""
