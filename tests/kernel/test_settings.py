"""Settings that pick credentials: which NATS user a service's bulk reads connect as."""

from __future__ import annotations

from pathlib import Path

from caunoi.shared.settings import Settings, inbox_prefix, replay_user


def test_bulk_reads_connect_as_the_replay_user_when_its_seed_is_there(tmp_path: Path) -> None:
    keys = tmp_path / "keys" / "nats"
    keys.mkdir(parents=True)
    settings = Settings(data_dir=tmp_path, nats_user="petitions")
    assert replay_user("petitions") == "petitions-replay"
    assert settings.replay_login() is None  # no seed: the service's own user (slower, still allowed)
    (keys / "petitions-replay.nk").write_text("SU...\n")
    assert settings.replay_login() == ("petitions-replay", keys / "petitions-replay.nk")
    assert inbox_prefix("petitions-replay") == "_INBOX_petitions-replay"
    elsewhere = tmp_path / "mounted.nk"
    elsewhere.write_text("SU...\n")
    mounted = Settings(data_dir=tmp_path, nats_user="petitions", nats_replay_nkey_file=elsewhere)
    assert mounted.replay_login() == ("petitions-replay", elsewhere)
    assert Settings(data_dir=tmp_path).replay_login() is None  # no users on the server at all
