"""Stage `derive`: the derived variables of every record (innovation types, pyramid, classes, sector)."""
