"""The platform every domain stands on: which store a URI names, ids and times, checks of
what a caller passed, the search language, the command line's shared options."""
