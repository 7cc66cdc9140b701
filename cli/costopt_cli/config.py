"""Where the CLI sends its calls and with which token: flags, then the environment, then a saved profile.

- the URL: ``--url`` > ``COSTOPT_URL`` > the profile's URL > ``http://127.0.0.1:3000`` (the local stack);
- the token: ``--token`` > ``COSTOPT_TOKEN`` > the profile's token, but only when the URL in use is the
  profile's own (a token saved for one API is never sent to another);
- the profile: ``--profile`` > ``COSTOPT_PROFILE`` > ``default``. ``costopt login`` writes profiles to
  ``config.json`` under ``$COSTOPT_CONFIG_DIR`` (default ``$XDG_CONFIG_HOME/costopt`` or ``~/.config/costopt``),
  a file only its owner can read (0600).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:3000"
DEFAULT_PROFILE = "default"
CONFIG_FILE = "config.json"


class ConfigError(Exception):
    """A setting that cannot be used (unknown profile, unreadable config, no token): a usage error."""


@dataclass(frozen=True)
class Profile:
    url: str
    token: str


@dataclass(frozen=True)
class Settings:
    """What one command uses; ``*_source`` says where each value came from (flag, env, profile, default)."""

    url: str
    token: str | None
    profile: str
    url_source: str
    token_source: str | None


def normalize_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"the URL must start with http:// or https://: {url!r}")
    return url


def config_dir(env: Mapping[str, str]) -> Path:
    if env.get("COSTOPT_CONFIG_DIR"):
        return Path(env["COSTOPT_CONFIG_DIR"])
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "costopt"


def config_path(env: Mapping[str, str]) -> Path:
    return config_dir(env) / CONFIG_FILE


def load_profiles(path: Path) -> dict[str, Profile]:
    """The saved profiles ({} when there is no file yet)."""
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    profiles = document.get("profiles") if isinstance(document, dict) else None
    if not isinstance(profiles, dict):
        raise ConfigError(f"{path} has no 'profiles' object")
    out: dict[str, Profile] = {}
    for name, entry in profiles.items():
        if not (isinstance(entry, dict) and isinstance(entry.get("url"), str) and isinstance(entry.get("token"), str)):
            raise ConfigError(f"{path}: profile {name!r} needs a 'url' and a 'token'")
        out[str(name)] = Profile(url=entry["url"], token=entry["token"])
    return out


def save_profile(path: Path, name: str, profile: Profile) -> None:
    """Add or replace one profile; the file (and a directory it creates) is readable by its owner only."""
    profiles = load_profiles(path)
    profiles[name] = profile
    document = {"profiles": {k: {"url": p.url, "token": p.token} for k, p in sorted(profiles.items())}}
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(document, indent=2) + "\n")
    os.chmod(temporary, 0o600)  # an older file of that name may have had wider bits
    os.replace(temporary, path)


def resolve(env: Mapping[str, str], *, url: str | None = None, token: str | None = None,
            profile: str | None = None, profiles: Mapping[str, Profile] | None = None) -> Settings:
    """The settings of one command (see the module docstring for the order)."""
    if profiles is None:
        profiles = load_profiles(config_path(env))
    name = profile or env.get("COSTOPT_PROFILE") or DEFAULT_PROFILE
    saved = profiles.get(name)
    if saved is None and (profile or env.get("COSTOPT_PROFILE")):
        known = ", ".join(sorted(profiles)) or "none; `costopt login` saves one"
        raise ConfigError(f"no profile {name!r} (saved profiles: {known})")
    if url:
        chosen_url, url_source = normalize_url(url), "flag"
    elif env.get("COSTOPT_URL"):
        chosen_url, url_source = normalize_url(env["COSTOPT_URL"]), "env"
    elif saved is not None:
        chosen_url, url_source = normalize_url(saved.url), "profile"
    else:
        chosen_url, url_source = DEFAULT_URL, "default"
    chosen_token: str | None
    if token:
        chosen_token, token_source = token, "flag"
    elif env.get("COSTOPT_TOKEN"):
        chosen_token, token_source = env["COSTOPT_TOKEN"], "env"
    elif saved is not None and normalize_url(saved.url) == chosen_url:
        chosen_token, token_source = saved.token, "profile"
    else:
        chosen_token, token_source = None, None
    return Settings(url=chosen_url, token=chosen_token, profile=name, url_source=url_source,
                    token_source=token_source)
