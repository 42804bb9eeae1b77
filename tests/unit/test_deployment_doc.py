"""docs/deployment.md's configuration reference names every setting."""

from __future__ import annotations

import re
from pathlib import Path

from sealchat.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"


def test_every_setting_has_a_row_in_the_configuration_reference() -> None:
    text = DOC.read_text()
    reference = text[text.index("## 7. Configuration reference") :]
    rows = set(re.findall(r"^\| `(SEALCHAT_[A-Z0-9_]+)` \|", reference, re.MULTILINE))
    missing = [
        f"SEALCHAT_{name.upper()}"
        for name in Settings.model_fields
        if f"SEALCHAT_{name.upper()}" not in rows
    ]
    assert not missing, f"add these settings to docs/deployment.md section 7: {missing}"
