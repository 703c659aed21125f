"""`python -m chainrule` is the `chainrule` command: the same output and the same exit statuses."""
from __future__ import annotations

import subprocess
import sys

import chainrule


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chainrule", *args], capture_output=True, text=True, timeout=120)


def test_python_dash_m_chainrule_prints_the_version() -> None:
    done = run("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"chainrule {chainrule.__version__}"


def test_python_dash_m_chainrule_passes_on_the_exit_status_of_bad_input() -> None:
    done = run("chain", "x +", "--at", "x=1")
    assert done.returncode == 2
    assert done.stderr.startswith("chainrule chain: error:") and done.stderr.count("\n") == 1
