"""The neutral core: data the whole product shares, importing nothing of the product.

- :mod:`core.observation`: :class:`Sample`, :class:`Fact`, :class:`Observation`, the poll
  statuses, the identity keys and the target tag;
- :mod:`core.identity`: which identity values are real (placeholder serials, UUIDs, MACs);
- :mod:`core.text`: :func:`clip`, how every layer echoes a caller's value in an error.

Collectors, the monitor (scheduler, spool, stores), the ledger and the web all import from
here; none of them imports another layer for these names.
"""

from core.observation import (IDENTITY_KEYS, STATUS_ERROR, STATUS_OK, STATUS_PARTIAL,
                              STATUS_TIMEOUT, TARGET_TAG, Fact, Observation, Sample)

__all__ = ["IDENTITY_KEYS", "STATUS_ERROR", "STATUS_OK", "STATUS_PARTIAL", "STATUS_TIMEOUT",
           "TARGET_TAG", "Fact", "Observation", "Sample"]
