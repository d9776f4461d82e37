"""Access points: who is asking, from the requester's IP range or a widget key."""
