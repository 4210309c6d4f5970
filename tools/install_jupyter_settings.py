"""Install the course's Jupyter settings into the running Python environment (a venv or a conda env).

Usage: python tools/install_jupyter_settings.py   (`make setup` runs it; conda users run it once)

Copies from ``.jupyter/`` in the repository:
- ``lab/settings/overrides.json`` → ``<env>/share/jupyter/lab/settings/`` (JupyterLab defaults: no news
  pop-up, Markdown files open rendered, hidden files hidden);
- ``jupyter_server_config.json`` → ``<env>/etc/jupyter/`` (the file browser hides ``*.egg-info``,
  ``__pycache__``, ``build``, ``.venv``; a ``jupyter_server_config.d`` entry would not do: that folder is read
  for server extensions only);
- ``ipython/ipython_kernel_config.py`` → ``<env>/etc/ipython/`` (check cells show their message, not a bool).

Only this environment is touched, never the user's own ~/.jupyter settings, which still take precedence.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

SETTINGS = Path(__file__).resolve().parents[1] / ".jupyter"
PREFIX = Path(sys.prefix)
TARGETS = {
    "lab/settings/overrides.json": PREFIX / "share" / "jupyter" / "lab" / "settings" / "overrides.json",
    "jupyter_server_config.json": PREFIX / "etc" / "jupyter" / "jupyter_server_config.json",
    "ipython/ipython_kernel_config.py": PREFIX / "etc" / "ipython" / "ipython_kernel_config.py",
}


def install() -> list[Path]:
    written = []
    for name, target in TARGETS.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(SETTINGS / name, target)
        written.append(target)
    return written


if __name__ == "__main__":
    for path in install():
        print(f"installed {path}")
