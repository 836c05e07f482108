"""Kubernetes collector (official client)."""
