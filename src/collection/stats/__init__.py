"""Usage events and (later) the yearly report."""
