"""API credentials for a venue: from the environment or a TOML file outside any repository.

The secret never appears in a repr, a log line, the journal or an error message: a
:class:`Credentials` shows only the venue and where the credentials came from, and every error
says where they were looked for, never what was found.

Sources, in order (the first that is given wins; nothing is merged):

1. ``path``: a TOML file with a table named after the venue::

       [deribit]
       api_key = "..."
       api_secret = "..."

   It must not lie inside a git working tree (a directory with a ``.git`` entry above it):
   keys kept next to code end up committed.
2. The environment: ``INVRISK_<VENUE>_API_KEY`` and ``INVRISK_<VENUE>_API_SECRET``
   (``INVRISK_DERIBIT_API_KEY`` ...).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

from invrisk.errors import CredentialsError

__all__ = ["Credentials", "env_names", "load_credentials"]


class Credentials:
    """A venue's API key and secret (the repr shows the venue and the source only)."""

    __slots__ = ("_api_key", "_api_secret", "source", "venue")

    def __init__(self, *, venue: str, api_key: str, api_secret: str, source: str) -> None:
        self.venue = venue
        self.source = source
        self._api_key = api_key
        self._api_secret = api_secret

    @property
    def api_key(self) -> str:
        return self._api_key

    @property
    def api_secret(self) -> str:
        return self._api_secret

    def __repr__(self) -> str:
        return f"Credentials(venue={self.venue!r}, source={self.source!r})"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:  # no pickling: a pickle would carry the secret
        raise TypeError("Credentials are not picklable")


def env_names(venue: str) -> tuple[str, str]:
    """The environment variables read for ``venue``: ``INVRISK_<VENUE>_API_KEY``, ``..._SECRET``."""
    v = venue.upper().replace("-", "_")
    return f"INVRISK_{v}_API_KEY", f"INVRISK_{v}_API_SECRET"


def _inside_repository(path: Path) -> Path | None:
    for parent in path.resolve().parents:
        if (parent / ".git").exists():
            return parent
    return None


def load_credentials(
    venue: str, *, path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Credentials:
    """The credentials of ``venue`` from ``path`` (TOML) or the environment (see the module).

    Raises
    ------
    CredentialsError
        Naming the venue and where the credentials were looked for, if they are missing,
        empty, unreadable, or in a file inside a git working tree.
    """
    if path is not None:
        p = Path(path).expanduser()
        repo = _inside_repository(p)
        if repo is not None:
            raise CredentialsError(
                f"{venue}: credentials file {p} is inside the repository {repo}; keep it "
                "outside any repository (e.g. ~/.config/invrisk/keys.toml, mode 600)"
            )
        try:
            doc = tomllib.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CredentialsError(
                f"{venue}: cannot read credentials file {p} ({exc.strerror})"
            ) from None
        except tomllib.TOMLDecodeError:
            raise CredentialsError(f"{venue}: credentials file {p} is not valid TOML") from None
        table = doc.get(venue)
        if not isinstance(table, dict):
            raise CredentialsError(f"{venue}: credentials file {p} has no [{venue}] table")
        key, secret = table.get("api_key"), table.get("api_secret")
        if not (isinstance(key, str) and key and isinstance(secret, str) and secret):
            raise CredentialsError(
                f"{venue}: credentials file {p} needs non-empty api_key and api_secret "
                f"strings in [{venue}]"
            )
        return Credentials(venue=venue, api_key=key, api_secret=secret, source=f"file {p}")
    env = os.environ if environ is None else environ
    key_name, secret_name = env_names(venue)
    key, secret = env.get(key_name, ""), env.get(secret_name, "")
    if not (key and secret):
        missing = [n for n, v in ((key_name, key), (secret_name, secret)) if not v]
        raise CredentialsError(
            f"{venue}: no API credentials: set {' and '.join(missing)} in the environment, "
            "or give a credentials TOML file outside the repository"
        )
    return Credentials(
        venue=venue,
        api_key=key,
        api_secret=secret,
        source=f"environment ({key_name}, {secret_name})",
    )
