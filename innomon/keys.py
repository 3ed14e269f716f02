"""The panel key: the HMAC key of every pseudonym (panel ids, firm hashes), from the environment.

With the key known, a pseudonym of a chamber-of-commerce number is reversed by trying all 10^8
numbers in minutes; so there is no built-in key outside the demo. The variable is the one the
configuration names (`linking.key_env`); the key must hold at least 32 bytes and may not be the demo
key unless the demo mode is switched on explicitly (`INNOMON_DEMO=1`: `innomon demo` and the tests,
on synthetic data only). What identifies a key in folder names and cache keys is a fingerprint
derived with the key (HMAC), which says nothing about the key itself.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from innomon.errors import ConfigError

DEMO_KEY = "innomon-demo-key-not-for-production"  # synthetic data only: refused outside the demo mode
DEMO_FLAG = "INNOMON_DEMO"
MIN_KEY_BYTES = 32
KEY_ENV_PATTERN = r"^INNOMON_[A-Z0-9_]*KEY$"  # a configuration may name no other secret


def demo_mode() -> bool:
    """Whether this process runs the demo (synthetic data, the built-in demo key allowed)."""
    return os.environ.get(DEMO_FLAG) == "1"


def panel_key(env_name: str) -> bytes:
    """The key in variable `env_name`; refused (exit 2, one sentence) when it is missing, shorter
    than 32 bytes, or the demo key outside the demo mode."""
    text = os.environ.get(env_name, "")
    if not text:
        if demo_mode():
            return DEMO_KEY.encode("utf-8")
        raise ConfigError(
            f"No panel key: set {env_name} to a secret of at least {MIN_KEY_BYTES} bytes (from the "
            f"organisation's secret store); only the demo ({DEMO_FLAG}=1) runs with the built-in demo key."
        )
    key = text.encode("utf-8")
    if key == DEMO_KEY.encode("utf-8") and not demo_mode():
        raise ConfigError(f"{env_name} holds the demo key, which is public; set the organisation's own key.")
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(f"{env_name} holds {len(key)} bytes; a panel key needs at least {MIN_KEY_BYTES}.")
    return key


def fingerprint(key: bytes) -> str:
    """What names a key in folder names and cache keys: an HMAC with the key, never a bare hash."""
    return hmac.new(key, b"innomon-panel-key-fingerprint", hashlib.sha256).hexdigest()[:16]
