"""One rule makes text from a file printable before any output takes it (chainrule.files.printable): a lone
surrogate (JSON's "\\ud800"), a control character or a bidirectional override in an example's title reaches no
output as it is, and never stops a write with a traceback (issue 14)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from chainrule import cli

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "two-two-two.json"


@pytest.mark.parametrize("format_", ["terminal", "markdown", "latex", "html"])
def test_a_title_with_a_lone_surrogate_is_written_in_every_format(tmp_path, capsys, format_) -> None:
    spec = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    spec["title"] = "half \ud800 a pair \x1b[2J \u2028"
    source = tmp_path / "spec.json"
    source.write_text(json.dumps(spec), encoding="ascii")  # json.dumps writes the surrogate as \\ud800
    out = tmp_path / f"explanation.{format_}"
    assert cli.main(["explain", str(source), "--format", format_, "--out", str(out)]) == 0, capsys.readouterr().err
    text = out.read_bytes().decode("utf-8")  # valid UTF-8 throughout
    if format_ != "latex":  # LaTeX output is ASCII: it shows any other character as ?
        assert "half \ufffd a pair ␛" in text
    assert "a pair" in text
    assert not any(char in text for char in "\x1b\u2028")
