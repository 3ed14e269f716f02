"""Flow step `approval`: the release pauses for a person's approval when the year's configuration asks
for it.
"""
