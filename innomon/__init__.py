"""innomon: the Noord-Nederlandse Innovatiemonitor annual pipeline."""

__version__ = "0.1.0"
