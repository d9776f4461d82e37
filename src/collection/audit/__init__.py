"""The audit log: every change staff make, who and when."""
