"""Preservation: fixity checks of the stored originals (fixity.py) and storage hygiene, so that
objects neither leak nor vanish (hygiene.py). Worker tasks in tasks.py."""
