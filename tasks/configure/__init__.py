"""Flow step `configure`: the year's resolved, typed configuration (and its comparison years'), stored
by hash.
"""
