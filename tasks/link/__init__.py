"""Stage `link`: repeat respondents linked to the previous year (Splink), pseudonymous panel ids."""
