"""deploy/grafana/sealchat.json charts only metrics the server exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

from sealchat import metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "sealchat.json"


def exported_sample_names() -> set[str]:
    assert metrics.MESSAGES_STORED is not None  # defined on import
    names: set[str] = set()
    for family in REGISTRY.collect():
        if family.name.startswith("sealchat_"):
            suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}
            names.update(family.name + s for s in suffixes.get(family.type, [""]))
    return names


def test_every_expression_names_an_exported_metric() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {name for expr in exprs for name in re.findall(r"\bsealchat_[a-z_]+", expr)}
    assert used, "the dashboard charts nothing"
    assert used <= exported_sample_names(), used - exported_sample_names()
