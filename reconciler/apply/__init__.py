"""Executing a plan: hub pulls, channel pushes, and the journal of both."""
