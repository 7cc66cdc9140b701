"""Where a command sends its calls and with which token (costopt_cli.config): flags > env > profile."""

from __future__ import annotations

import json
import stat

import pytest

from costopt_cli.config import DEFAULT_URL, ConfigError, Profile, config_path, load_profiles, resolve, save_profile

SAVED = {"default": Profile("https://costopt.example.com/", "saved-token"),
         "local": Profile("http://127.0.0.1:3100", "local-token")}


def test_flags_win_over_the_environment_and_the_profile():
    env = {"COSTOPT_URL": "http://env:1", "COSTOPT_TOKEN": "env-token"}
    s = resolve(env, url="http://flag:2/", token="flag-token", profiles=SAVED)
    assert (s.url, s.token, s.url_source, s.token_source) == ("http://flag:2", "flag-token", "flag", "flag")


def test_the_environment_wins_over_the_profile():
    s = resolve({"COSTOPT_URL": "http://env:1", "COSTOPT_TOKEN": "env-token"}, profiles=SAVED)
    assert (s.url, s.token, s.url_source, s.token_source) == ("http://env:1", "env-token", "env", "env")


def test_the_default_profile_serves_when_nothing_is_set():
    s = resolve({}, profiles=SAVED)
    assert (s.url, s.token, s.profile, s.url_source, s.token_source) == (
        "https://costopt.example.com", "saved-token", "default", "profile", "profile")


def test_a_named_profile_by_flag_or_environment():
    assert resolve({}, profile="local", profiles=SAVED).token == "local-token"
    assert resolve({"COSTOPT_PROFILE": "local"}, profiles=SAVED).url == "http://127.0.0.1:3100"


def test_a_profile_token_is_never_sent_to_another_url():
    s = resolve({}, url="http://elsewhere:9", profiles=SAVED)
    assert (s.url, s.token, s.token_source) == ("http://elsewhere:9", None, None)
    # the same URL written differently (a trailing slash) is the profile's own
    assert resolve({}, url="https://costopt.example.com", profiles=SAVED).token == "saved-token"


def test_nothing_saved_means_the_local_stack_and_no_token():
    s = resolve({}, profiles={})
    assert (s.url, s.token, s.url_source) == (DEFAULT_URL, None, "default")


def test_an_unknown_profile_is_an_error_naming_the_saved_ones():
    with pytest.raises(ConfigError, match=r"no profile 'prod' \(saved profiles: default, local\)"):
        resolve({}, profile="prod", profiles=SAVED)
    with pytest.raises(ConfigError, match="no profile 'prod'"):
        resolve({"COSTOPT_PROFILE": "prod"}, profiles=SAVED)


def test_a_url_must_be_http():
    with pytest.raises(ConfigError, match="must start with http"):
        resolve({}, url="127.0.0.1:3000", profiles={})


def test_the_config_dir_follows_costopt_config_dir_then_xdg(tmp_path):
    assert config_path({"COSTOPT_CONFIG_DIR": str(tmp_path)}) == tmp_path / "config.json"
    assert config_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "costopt" / "config.json"


def test_saved_profiles_are_kept_owner_only_and_merged(tmp_path):
    path = tmp_path / "new-dir" / "config.json"
    save_profile(path, "default", Profile("http://a:1", "t1"))
    save_profile(path, "other", Profile("http://b:2", "t2"))
    save_profile(path, "default", Profile("http://a:1", "t3"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_profiles(path) == {"default": Profile("http://a:1", "t3"), "other": Profile("http://b:2", "t2")}
    assert json.loads(path.read_text()) == {"profiles": {"default": {"url": "http://a:1", "token": "t3"},
                                                         "other": {"url": "http://b:2", "token": "t2"}}}
    assert not list(tmp_path.glob("**/*.tmp"))


def test_a_wider_file_is_narrowed_when_saved(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"profiles": {}}')
    path.chmod(0o644)
    save_profile(path, "default", Profile("http://a:1", "t"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("text", ["not json", "[]", '{"profiles": {"x": {"url": "http://a"}}}'])
def test_an_unreadable_config_is_an_error(tmp_path, text):
    path = tmp_path / "config.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=str(path)):
        load_profiles(path)
