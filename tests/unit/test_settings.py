from __future__ import annotations

from quill.settings import Settings, settings_from_options


def test_camel_case_keys_and_defaults() -> None:
    settings, problems = settings_from_options({"serverUrl": "http://gpu:8080", "maxNewTokens": 8})
    assert problems == []
    assert settings.server_url == "http://gpu:8080"
    assert settings.max_new_tokens == 8
    assert settings.deadline_ms == Settings().deadline_ms


def test_each_bad_key_is_reported_and_the_rest_kept() -> None:
    settings, problems = settings_from_options(
        {"serverUrl": "http://gpu:8080", "deadlineMs": -5, "temprature": 0.2}
    )
    assert settings.server_url == "http://gpu:8080"
    assert settings.deadline_ms == Settings().deadline_ms
    assert len(problems) == 2
    assert any(problem.startswith("deadlineMs") for problem in problems)
    assert any(problem.startswith("temprature") for problem in problems)


def test_later_layers_win_and_empty_changes_keep_earlier_values() -> None:
    settings, _ = settings_from_options({"serverUrl": "http://a"}, {}, {"quill": {"enable": False}})
    assert settings.server_url == "http://a"
    assert settings.enable is False


def test_not_an_object() -> None:
    settings, problems = settings_from_options(["nope"])
    assert settings == Settings()
    assert problems
