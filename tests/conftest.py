"""Shared test configuration: a non-interactive matplotlib backend and the repository root."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
