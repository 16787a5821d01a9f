"""``modelyard monitor ...``."""
