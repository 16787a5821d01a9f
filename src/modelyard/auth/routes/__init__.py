"""HTTP routes of auth: logging in, users and service accounts, projects, API tokens."""
