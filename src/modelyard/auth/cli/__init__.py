"""The ``modelyard`` commands of auth: users, service accounts, projects, tokens, login."""
