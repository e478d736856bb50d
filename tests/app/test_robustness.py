"""Bad input, hostile text, hosted mode, many users, no network, contained failures."""

import re
import socket
import subprocess
import tomllib
from pathlib import Path

import pytest
from test_pages import open_page

from attnviz.pretrained import hf
from attnviz.pretrained.extract import extract

from chart_data import charts, heatmap_z, labels

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = '<a href="javascript:alert(1)">x</a> <img src=x onerror=alert(1)> **bold** $x$'
BAD_TEXTS = {
    "empty": "",
    "whitespace": "   \n\t ",
    "100k characters": "attention " * 10_000,
    "one 5,000-character word": "a" * 5_000,
    "emoji": "I love attention 😀🎉👍🏽",
    "CJK": "注意力就是你所需要的",
    "Arabic (right to left)": "الانتباه هو كل ما تحتاجه",
    "zero-width and control": "zero\u200bwidth\u200d and \x01control\x07 chars",
    "NUL": "nul\x00byte",
    "only special tokens": "[CLS] [SEP]",
    "hostile": HOSTILE,
}


def shown(markdown: str) -> str:
    """Text as the reader sees it: messages are markdown with every special character escaped."""
    return re.sub(r"\\(.)", r"\1", markdown)


def page_text(at) -> str:
    return " ".join(shown(e.value) for e in [*at.error, *at.warning, *at.info])


@pytest.mark.parametrize("name", list(BAD_TEXTS))
def test_pretrained_page_handles_bad_text(name, operator):  # the operator's limits: 20,000 characters
    at = open_page("pages/pretrained.py", hf_text=BAD_TEXTS[name])
    assert not at.exception, at.exception
    if name in ("empty", "whitespace"):
        assert "Type some text first" in page_text(at)
    elif name == "only special tokens":
        assert "no ordinary tokens" in page_text(at)
    else:
        assert "hf_heatmap" in charts(at), page_text(at)
        assert at.get("download_button"), "the rest of the page keeps working"
    if name == "100k characters":
        assert "cut to the first 20,000" in page_text(at)
        assert "reads at most 512" in page_text(at)
    assert at.text_area(key="hf_text") is not None  # the input stays there to be corrected


@pytest.mark.parametrize("name", list(BAD_TEXTS))
def test_temporal_page_handles_bad_text(name):
    at = open_page("pages/temporal.py", rnn_text=BAD_TEXTS[name])
    assert not at.exception, at.exception
    if name in ("empty", "whitespace"):
        assert "Type some text first" in page_text(at)
    elif name in ("100k characters",):
        assert "cut to the first 200" in page_text(at)
    else:
        assert "vocabulary" in page_text(at) or "too long" in page_text(at)
    assert at.text_input(key="rnn_text") is not None  # the input stays usable


def test_hostile_text_is_inert_in_messages_and_figures():
    at = open_page("pages/temporal.py", rnn_text=HOSTILE)
    message = at.error[0].value  # the markdown source streamlit renders
    assert "'\\<'" in message and "'\\:'" in message  # every character markdown or HTML would act on is escaped
    assert re.search(r"(?<!\\)[<*\[\]$]", message) is None
    assert "'<'" in shown(message)  # and the reader sees the literal text
    at = open_page("pages/pretrained.py", hf_text=HOSTILE, hf_words="True")
    spec = charts(at)["hf_heatmap"]
    assert "<a" not in str(spec["layout"]["xaxis"]["ticktext"]) and "&lt;" in str(spec["layout"]["xaxis"]["ticktext"])
    assert "<" in labels(spec)  # shown literally


@pytest.mark.slow  # extracts 20,000 tokens' worth of text cut to MiniLM's 512: about 15 s
def test_cli_reports_bad_input_in_one_line(tmp_path, capsys):
    """In-process (tests/unit/test_hf.py runs the real `python -m attnviz extract` once)."""
    from attnviz.cli.main import main

    command = ["extract", "--text", "   ", "--out", str(tmp_path / "x.npz")]
    assert main(command) == 2 and capsys.readouterr().err.strip() == "error: Type some text first."  # nothing else
    command[2] = "long " * 20_000
    assert main(command) == 0 and "warning: The text is 20002 tokens long" in capsys.readouterr().err


# ---- hosted mode ------------------------------------------------------------------------------------


@pytest.fixture
def hosted(monkeypatch):
    monkeypatch.setenv("ATTNVIZ_HOSTED", "1")


def test_hosted_mode_allows_only_listed_models(hosted):
    at = open_page("pages/pretrained.py", hf_model="someone/remote-code-model")
    assert not at.exception
    assert "only loads these models for visitors" in page_text(at) and "all-MiniLM-L6-v2" in page_text(at)


def test_hosted_mode_caps_text_and_tokens(hosted):
    at = open_page("pages/pretrained.py", hf_text="word " * 1_000)
    assert "cut to the first 2,000" in page_text(at)
    assert heatmap_z(charts(at)["hf_heatmap"]).shape == (256, 256)


def test_allow_list_can_be_extended(hosted, monkeypatch):
    from attnviz import settings

    monkeypatch.setenv("ATTNVIZ_ALLOWED_MODELS", "my-org/my-model")
    settings.check_model("my-org/my-model")
    with pytest.raises(PermissionError):
        settings.check_model("other/model")


def test_trust_remote_code_is_false_in_every_loader_call(monkeypatch, tmp_path):
    """Every Auto* loader attnviz calls (configs, tokenizers, models of every family) gets
    trust_remote_code=False explicitly: a call that left it out would fall back to a library default."""
    import transformers

    from hf_models import save_tiny

    folders = [save_tiny(family, tmp_path / family) for family in ("bert", "gpt2", "t5")]
    calls = []
    for name in dir(transformers):
        try:
            loadable = name.startswith("Auto") and hasattr(getattr(transformers, name), "from_pretrained")
        except ImportError:  # AutoVideoProcessor needs torchvision, which attnviz does not install
            continue
        if loadable:
            real = getattr(transformers, name).from_pretrained
            monkeypatch.setattr(
                getattr(transformers, name),
                "from_pretrained",
                lambda *a, _real=real, _name=name, **k: (
                    calls.append((_name, k.get("trust_remote_code", "missing"))) or _real(*a, **k)
                ),
            )
    for folder in folders:
        hf.load(str(folder))
    loaders = {name for name, _ in calls}
    assert {"AutoConfig", "AutoTokenizer", "AutoModel", "AutoModelForCausalLM", "AutoModelForSeq2SeqLM"} <= loaders
    assert all(value is False for _, value in calls), calls
    grep = subprocess.run(["grep", "-rn", "trust_remote_code=True", "attnviz", "pages", "app.py"], cwd=ROOT)
    assert grep.returncode == 1  # not found anywhere


def test_loaded_models_are_bounded_least_recently_used_first(monkeypatch, tmp_path):
    from attnviz.app import cache

    from hf_models import save_tiny

    folders = [str(save_tiny("bert", tmp_path / f"m{i}")) for i in range(4)]
    loads = []
    real = hf.load
    monkeypatch.setattr(hf, "load", lambda model_id=None: loads.append(model_id) or real(model_id))
    cache.pretrained_model.clear()
    for folder in [*folders, folders[3], folders[0]]:
        cache.pretrained_model(folder)
    assert loads == [*folders, folders[0]]  # 4 loads, then m3 was cached, m0 had been evicted
    assert cache.MAX_MODELS == 3


# ---- no network ----------------------------------------------------------------------------------------


def test_the_socket_guard_really_refuses_outbound_connections():
    with pytest.raises(ConnectionRefusedError, match="may not reach the network"):
        socket.create_connection(("192.0.2.1", 443), timeout=1)  # TEST-NET-1: never routed


def test_packaged_and_builtin_paths_work_under_the_guard():
    at = open_page("pages/compare.py")
    assert not at.exception and charts(at)
    assert extract(hf.load(), "Offline works.").maps["self"].n_layers == 6


def test_usage_statistics_are_off():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["browser"]["gatherUsageStats"] is False


# ---- failures are contained ------------------------------------------------------------------------


def test_a_failing_view_becomes_an_error_box_and_the_page_goes_on(monkeypatch):
    from attnviz import figures

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(figures, "heatmap", broken)
    at = open_page("pages/pretrained.py")
    assert not at.exception
    assert "failed to draw" in page_text(at) and "boom" not in page_text(at)
    assert at.get("download_button") and at.slider(key="hf_layer") is not None
