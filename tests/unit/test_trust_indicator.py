"""The trust line: what each key-service layout means, the same words in every client."""

from __future__ import annotations

from pathlib import Path

import pytest

from sealchat.api.keys import key_service_layout
from sealchat.client.trust import SUMMARIES, trust_indicator
from sealchat.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("settings", "layout"),
    [
        ({}, "embedded-same-process"),
        ({"kms_embedded": False}, "separate"),
        ({"key_service": "aws-kms"}, "aws-kms"),
    ],
)
def test_the_server_names_its_layout(
    settings: dict[str, object], layout: str, tmp_path: Path
) -> None:
    assert key_service_layout(Settings(data_dir=tmp_path, **settings)) == layout  # type: ignore[arg-type]


def test_each_layout_is_said_in_one_line_with_the_docs_section() -> None:
    default = trust_indicator({"key_service_layout": "embedded-same-process", "docs_url": None})
    assert default.line() == (
        "Trust: key service in the same process as the server: the server's operator could "
        "read messages (docs/key-service.md#12-what-clients-say-about-the-layout)"
    )
    published = trust_indicator(
        {"key_service_layout": "separate", "docs_url": "https://d.example/"}
    )
    assert published.summary.startswith("separate key service:")
    assert (
        published.docs_link
        == "https://d.example/key-service.md#12-what-clients-say-about-the-layout"
    )
    assert trust_indicator({"key_service_layout": "aws-kms"}).summary.startswith("AWS KMS:")


def test_unknown_and_older_servers_are_read_cautiously() -> None:
    assert "could read messages" in trust_indicator({"key_service_layout": "new"}).summary
    assert trust_indicator({}).layout == "embedded-same-process"
    assert trust_indicator({"key_service": {"type": "aws-kms"}}).layout == "aws-kms"


def test_the_web_client_the_readme_and_the_docs_use_the_same_words() -> None:
    web = (ROOT / "web" / "src" / "lib" / "trust.ts").read_text()
    readme = (ROOT / "README.md").read_text()
    docs = (ROOT / "docs" / "key-service.md").read_text()
    for summary in SUMMARIES.values():
        assert f'"{summary}"' in web
        assert summary in readme
        assert summary in docs


def test_no_client_claims_end_to_end() -> None:
    sources = [*(ROOT / "sealchat").rglob("*.py"), *(ROOT / "web" / "src").rglob("*.ts*")]
    for source in sources:
        text = source.read_text().lower()
        for claim in ("end to end", "end-to-end"):
            assert claim not in text, f"{source} says {claim!r}"
