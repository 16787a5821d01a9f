"""modelyard.platform.search."""
