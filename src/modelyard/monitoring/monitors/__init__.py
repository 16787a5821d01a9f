"""Monitors: declared checks (drift, performance) over a window of logged predictions, and
the alerts they raise through webhooks, email and the log."""
