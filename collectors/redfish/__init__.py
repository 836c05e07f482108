"""Redfish BMCs (see collector.py)."""
