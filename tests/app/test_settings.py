"""Safe by default: who may lift the hosted limits, and settings that mean nothing stop the app."""

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from attnviz import settings

APP = Path(__file__).resolve().parents[2] / "app.py"


@pytest.mark.parametrize(
    "value, expected",
    [("", "auto"), ("auto", "auto"), ("1", "hosted"), ("TRUE", "hosted"), ("0", "local"), ("no", "local")],
)
def test_known_values_choose_a_mode(monkeypatch, value, expected):
    monkeypatch.setenv("ATTNVIZ_HOSTED", value)
    assert settings.mode() == expected


@pytest.mark.parametrize("value", ["on", "off", "hosted", "2"])
def test_an_unknown_value_stops_the_app_with_the_values_it_knows(monkeypatch, value):
    monkeypatch.setenv("ATTNVIZ_HOSTED", value)
    with pytest.raises(settings.SettingError, match="is not a setting attnviz knows"):
        settings.limits()
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    [message] = [e.value for e in at.error]
    assert f"ATTNVIZ_HOSTED='{value}'" in message and "Use 1" in message
    assert not at.title  # no page ran


def test_off_the_web_the_command_line_is_the_operator(monkeypatch):
    monkeypatch.delenv("ATTNVIZ_HOSTED", raising=False)
    assert settings.visitor_is_operator() and settings.limits().allowed_models is None
    monkeypatch.setenv("ATTNVIZ_HOSTED", "1")
    assert not settings.visitor_is_operator() and settings.limits().max_tokens == 256


def test_refusals_never_tell_whether_a_folder_exists(monkeypatch, tmp_path):
    from hf_models import save_tiny

    monkeypatch.setenv("ATTNVIZ_HOSTED", "1")
    real = save_tiny("bert", tmp_path / "bert")  # a folder that holds a loadable model
    messages = []
    for model_id in (str(real), "/etc", str(tmp_path / "missing"), "someone/remote-code-model"):
        with pytest.raises(PermissionError) as refused:
            settings.check_model(model_id)
        messages.append(str(refused.value))
    assert len(set(messages)) == 1 and "/" not in messages[0].split(":")[0]


@pytest.mark.parametrize("value", ["0", "two", "-1", "1.5", "999", "²", "1²"])
def test_an_unknown_thread_count_stops_the_app(monkeypatch, value):
    monkeypatch.setenv("ATTNVIZ_TORCH_THREADS", value)
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    [message] = [e.value for e in at.error]
    assert f"ATTNVIZ_TORCH_THREADS='{value}'" in message and "from 1 to 256" in message
    assert not at.title


def test_the_app_runs_each_forward_pass_on_the_threads_it_is_given():
    import subprocess
    import sys

    read = "import torch, attnviz.app.cache; print(torch.get_num_threads())"
    for env, expected in [({}, "1"), ({"ATTNVIZ_TORCH_THREADS": "2"}, "2")]:
        done = subprocess.run([sys.executable, "-c", read], env={**os.environ, **env}, capture_output=True, text=True)
        assert done.stdout.split()[-1] == expected, done.stderr[-500:]


@pytest.mark.parametrize("value", ["a b", "../models", "/srv/../etc", "owner/name/extra", "-dash", "gpt2,tab\tid"])
def test_a_malformed_allow_list_stops_the_app_with_one_sentence(monkeypatch, value):
    monkeypatch.setenv("ATTNVIZ_ALLOWED_MODELS", value)
    with pytest.raises(settings.SettingError, match="ATTNVIZ_ALLOWED_MODELS holds"):
        settings.check_environment()
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    [message] = [e.value for e in at.error]
    assert message.startswith("ATTNVIZ_ALLOWED_MODELS holds") and message.count(". ") == 0
    assert not at.title


def test_a_well_formed_allow_list_adds_hub_ids_and_folders(monkeypatch):
    monkeypatch.setenv("ATTNVIZ_HOSTED", "1")
    monkeypatch.setenv("ATTNVIZ_ALLOWED_MODELS", " org/model-1.5 , gpt2-large,/srv/models/bert,")
    assert settings.limits().allowed_models[-3:] == ("org/model-1.5", "gpt2-large", "/srv/models/bert")
