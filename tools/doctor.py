"""Print what a learner's environment holds, for a bug report or a set-up problem (`make doctor`)."""

from __future__ import annotations

import importlib.metadata
import platform
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = [
    "numpy",
    "scipy",
    "pandas",
    "torch",
    "statsmodels",
    "matplotlib",
    "jupyterlab",
    "ipykernel",
    "nbval",
    "pytest",
    "jupyter-book",
    "selenium",
]


def version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def torch_build() -> str:
    try:
        import torch
    except ImportError:
        return "PyTorch not installed"
    if torch.version.cuda:
        gpu = "a GPU is visible" if torch.cuda.is_available() else "no GPU visible"
        return f"CUDA build (CUDA {torch.version.cuda}; {gpu}); the lessons only need the CPU build"
    return "CPU build"


def kernel_imports_utils() -> str:
    """Start the notebooks' kernel (python3) from a notebook folder, as Jupyter does, and import utils there."""
    from jupyter_client.manager import start_new_kernel

    folder = next(ROOT.glob("phase*/module*/"), ROOT)
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(folder))
    try:
        reply = client.execute_interactive("import utils; print(utils.__file__)", timeout=60, output_hook=_collect)
        if reply["content"]["status"] != "ok":
            return f"NO: {reply['content'].get('ename')}: {reply['content'].get('evalue')} (run `make setup`)"
        return f"yes, from {_collected[-1].strip() if _collected else '?'}"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


_collected: list[str] = []


def _collect(message: dict) -> None:
    if message["msg_type"] == "stream":
        _collected.append(message["content"]["text"])


def main() -> int:
    print(f"python      {sys.version.split()[0]} ({sys.executable}) on {platform.platform()}")
    for package in PACKAGES:
        print(f"{package:<13}{version(package)}")
    print(f"torch build {torch_build()}")
    print(f"kernel      imports utils: {kernel_imports_utils()}")
    chromium = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
    print(f"chromium    {chromium or 'not found (the browser test of the book will be skipped)'}")
    print(f"npm         {shutil.which('npm') or 'not found (needed once, to vendor MathJax for make book)'}")
    offline = (
        subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
        if shutil.which("unshare")
        else False
    )
    network = "works: make test runs with the network cut" if offline else "unavailable: tests run with the network up"
    print(f"unshare -n  {network}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
