"""JupyterLab as a learner meets it: settings that install, check cells without a bool echo, collapsed solutions.

- `.jupyter/` holds the course's JupyterLab defaults (no news pop-up, Markdown opens rendered), the server's
  hidden files (`*.egg-info`, `__pycache__`, `build`, `.venv`) and the kernel configuration whose input
  transformer silences the `True`/`False` echo of a check cell; tools/install_jupyter_settings.py installs
  them into an environment.
- Every notebook's solution cells collapse their output with their source, and committed check cells show
  only their message (tools/normalize_notebooks.py; fix: `make normalize`).
"""

import json
import sys
from pathlib import Path

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import install_jupyter_settings  # noqa: E402
import normalize_notebooks  # noqa: E402

SETTINGS = ROOT / ".jupyter"
NOTEBOOKS = normalize_notebooks.notebooks()


def test_lab_overrides_turn_off_news_and_render_markdown():
    overrides = json.loads((SETTINGS / "lab" / "settings" / "overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    assert overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]["markdown"] == "Markdown Preview"


def test_server_hides_build_and_cache_folders():
    hidden = json.loads((SETTINGS / "jupyter_server_config.json").read_text())["ContentsManager"]["hide_globs"]
    for pattern in ("*.egg-info", "__pycache__", "build", ".venv"):
        assert pattern in hidden


def test_settings_install_into_an_environment(tmp_path, monkeypatch):
    targets = {name: tmp_path / Path(*target.parts[-4:]) for name, target in install_jupyter_settings.TARGETS.items()}
    monkeypatch.setattr(install_jupyter_settings, "TARGETS", targets)
    written = install_jupyter_settings.install()
    assert [p.read_bytes() for p in written] == [(SETTINGS / name).read_bytes() for name in targets]


@pytest.fixture
def shell():
    """An IPython shell configured like the course kernel (the exec_lines of ipython_kernel_config.py)."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    namespace = {"get_config": lambda: config}
    exec((SETTINGS / "ipython" / "ipython_kernel_config.py").read_text(), namespace)
    instance = InteractiveShell.instance()
    transformers = list(instance.input_transformers_post)
    for line in config.InteractiveShellApp.exec_lines:
        instance.run_cell(line, store_history=False)
    yield instance
    instance.input_transformers_post[:] = transformers
    InteractiveShell.clear_instance()


def _echo(shell, source: str, capsys):
    shell.displayhook.flush = lambda: None
    shell.run_cell("from types import SimpleNamespace\nchecks = SimpleNamespace(ex1=lambda a: a is not None)")
    capsys.readouterr()
    result = shell.run_cell(source, store_history=True)  # as the kernel runs a cell
    return result.result, capsys.readouterr().out


def test_a_check_cell_shows_no_bool_but_keeps_its_value(shell, capsys):
    value, shown = _echo(shell, "answer = None\nchecks.ex1(answer)", capsys)
    assert shown == ""
    value, shown = _echo(shell, "checks.ex1(answer) == False", capsys)
    assert "True" in shown, "any other expression must still show its value"
    value, shown = _echo(shell, "1 + 1", capsys)
    assert "2" in shown


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(ROOT)) for p in NOTEBOOKS])
def test_solutions_collapse_their_output_and_checks_do_not_echo(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    changes = normalize_notebooks.normalise(notebook)
    assert not changes, f"{len(changes)} cell(s) to normalise, e.g. {changes[0]}: run `make normalize`"


def test_consecutive_stream_outputs_are_merged_once():
    cell = {
        "cell_type": "code",
        "metadata": {},
        "source": "train()",
        "outputs": [
            {"output_type": "stream", "name": "stderr", "text": "epoch 1\r"},
            {"output_type": "stream", "name": "stderr", "text": ["epoch 2", "\r"]},
            {"output_type": "stream", "name": "stdout", "text": "done\n"},
            {"output_type": "stream", "name": "stderr", "text": "warning\n"},
        ],
    }
    notebook = {"cells": [cell]}
    assert normalize_notebooks.normalise(notebook) == ["cell 0: 1 stream output(s) merged"]
    assert [(o["name"], o["text"]) for o in cell["outputs"]] == [
        ("stderr", "epoch 1\repoch 2\r"),
        ("stdout", "done\n"),
        ("stderr", "warning\n"),
    ]
    assert normalize_notebooks.normalise(notebook) == []
