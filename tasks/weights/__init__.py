"""Stage `weights`: the invitation frame (`frame`) and the raking of respondents to it (`raking`)."""
