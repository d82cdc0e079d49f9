"""The SHA-256 of a snapshot (or any JSON-able data) as recorded beside a publication.

Imports nothing of the project: the models check a publication's stored snapshot with
it, and the snapshot builder (which imports the models) hashes with it too.
"""

import hashlib
import json


def canonical_json(data):
    """The byte form hashed for SHA-256: key order and spacing fixed."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sha256_of(data):
    return hashlib.sha256(canonical_json(data)).hexdigest()
