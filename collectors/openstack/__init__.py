"""OpenStack collector (openstacksdk)."""
