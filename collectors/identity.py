"""Which identity values are real: kept importable here; the rule lives in :mod:`core.identity`."""

from core.identity import (PLACEHOLDER_SERIALS, PLACEHOLDER_UUIDS, clean_keys,  # noqa: F401
                           clean_serial, clean_uuid, drop_shared, is_placeholder_mac,
                           is_placeholder_serial, is_placeholder_uuid)
