"""Identity settings from the environment."""

from __future__ import annotations

import pytest

from rapport.errors import ConfigurationError
from rapport.settings import IdentitySettings


def test_defaults_need_no_configuration() -> None:
    identity = IdentitySettings.from_env({})
    assert identity.password_min_length == 12
    assert (identity.lockout_attempts, identity.lockout_seconds) == (5, 900)
    assert identity.oidc_issuer is None


def test_values_are_read_and_checked() -> None:
    identity = IdentitySettings.from_env(
        {
            "RAPPORT_LOCKOUT_ATTEMPTS": "3",
            "RAPPORT_SESSION_IDLE_SECONDS": "600",
            "RAPPORT_OIDC_ISSUER": "https://idp.test",
            "RAPPORT_OIDC_JWKS": "/etc/jwks.json",
            "RAPPORT_OIDC_ROLES_CLAIM": "groups",
        }
    )
    assert identity.lockout_attempts == 3
    assert identity.session_idle_seconds == 600
    assert identity.oidc_roles_claim == "groups"
    with pytest.raises(ConfigurationError, match="RAPPORT_OIDC_JWKS"):
        IdentitySettings.from_env({"RAPPORT_OIDC_ISSUER": "https://idp.test"})
    with pytest.raises(ConfigurationError, match="below 8"):
        IdentitySettings.from_env({"RAPPORT_PASSWORD_MIN_LENGTH": "6"})
