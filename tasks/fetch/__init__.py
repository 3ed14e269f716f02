"""Stage `fetch`: bring the year's export (a file drop or the Qualtrics API) into the raw archive, and
the private files beside it.
"""
