"""Drift between a reference and a current sample: the tests, their automatic choice, and
the report (see ``compute.drift``)."""
