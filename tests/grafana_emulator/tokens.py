"""Service-account token format (docs §0 Authentication).

``glsa_`` + 32 random alphanumerics + ``_`` + 8 hex chars, the hex being the CRC32-IEEE of
``glsa_<secret>`` written as the 4 checksum bytes little-endian.  Tokens failing shape or checksum
are rejected before any lookup.
"""

import hashlib
import re
import secrets
import string
import struct
import zlib

PREFIX = "glsa"
_ALNUM = string.ascii_letters + string.digits
TOKEN_RE = re.compile(r"^glsa_([A-Za-z0-9]{32})_([0-9a-f]{8})$")


def checksum(secret):
    crc = zlib.crc32(("%s_%s" % (PREFIX, secret)).encode()) & 0xFFFFFFFF
    return struct.pack("<I", crc).hex()


def new_token():
    """Return a fresh ``glsa_`` key."""
    secret = "".join(secrets.choice(_ALNUM) for _pos in range(32))
    return "%s_%s_%s" % (PREFIX, secret, checksum(secret))


def is_well_formed(key):
    """Shape + checksum check done before any lookup."""
    m = TOKEN_RE.match(key or "")
    return bool(m) and checksum(m.group(1)) == m.group(2)


def token_hash(key):
    """What the store keeps instead of the key (the key is shown once, like Grafana)."""
    return hashlib.sha256(key.encode()).hexdigest()
