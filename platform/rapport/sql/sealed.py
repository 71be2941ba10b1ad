"""The marker that tags a sealed (encrypted) value in the JSON text a statement builds.

Statements return a selected sensitive column as the string
``<marker><entity id>|<field name>|<record id>|<base64 of the sealed bytes>``; the executor
finds these strings in the response text (a substring test first, so requests that select no
sensitive field pay nothing per field), opens them and splices the plaintext JSON in.

The marker holds 96 random bits drawn when the process starts: a client cannot store a text
that looks like a sealed value, because it cannot know the marker.
"""

from __future__ import annotations

import re
import secrets

__all__ = ["SEALED_MARKER", "SEALED_VALUE"]

SEALED_MARKER = f"rapport-sealed-{secrets.token_hex(12)}:"

# The whole JSON string, quotes included: group 1 entity, 2 field, 3 record id, 4 base64.
SEALED_VALUE = re.compile(
    '"'
    + re.escape(SEALED_MARKER)
    + r"([A-Za-z0-9_/-]+)\|([_A-Za-z][_0-9A-Za-z]*)\|([0-9a-f-]{36})\|([A-Za-z0-9+/=]*)\""
)
