"""modelyard.tracking.search."""
