"""Flow step `retention`: what the store keeps past its retention periods, listed or removed, as a
scheduled deployment (`innomon retention` on the command line)."""
