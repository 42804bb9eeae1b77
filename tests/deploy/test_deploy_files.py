"""The deployment files under deploy/ are valid: systemd units (``systemd-analyze verify``
where systemd is installed, a sanity parse everywhere), nginx configurations (``nginx -t``
with a throwaway certificate), and the compose file's settings exist."""

from __future__ import annotations

import configparser
import datetime
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from sealchat.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
SEALCHAT = str(Path(sys.executable).with_name("sealchat"))


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text())
    return parser


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_units_are_hardened(path: Path) -> None:
    service = unit(path)["Service"]
    assert service["ExecStart"].startswith("/opt/sealchat/venv/bin/sealchat ")
    assert service["User"].startswith("sealchat") and service["Group"] == service["User"]
    assert service["ProtectSystem"] == "strict"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ReadWritePaths"].startswith("/var/lib/sealchat")
    assert service["UMask"] == "0077"
    assert service["EnvironmentFile"].startswith("/etc/sealchat/")


def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed (the sanity parse above still runs)")
    for path in UNITS:
        # The binary must exist for verify: point the units at this checkout's.
        text = path.read_text().replace("/opt/sealchat/venv/bin/sealchat", SEALCHAT)
        (tmp_path / path.name).write_text(text)
    names = [str(tmp_path / p.name.replace("@.", "@8000.")) for p in UNITS]
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *names],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"},
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Unknown" not in output and "ignoring" not in output, output


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "chat.example.com")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, None)
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.mark.parametrize("name", ["sealchat-tls.conf", "compose.conf"])
def test_nginx_accepts_the_configurations(tmp_path: Path, name: str) -> None:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not nginx:
        pytest.skip("nginx is not installed")
    cert, key = self_signed(tmp_path)
    site = (DEPLOY / "nginx" / name).read_text()
    site = site.replace("/etc/letsencrypt/live/chat.example.com/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/chat.example.com/privkey.pem", str(key))
    for host in ("chat1:8000", "chat2:8000", "kms:8001"):  # compose's service names
        site = site.replace(host, "127.0.0.1:9")
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
        f"http {{ access_log off; include {tmp_path}/site.conf; }}\n"
    )
    done = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_the_compose_file_names_real_settings() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    known = {f"SEALCHAT_{name.upper()}" for name in Settings.model_fields}
    for service in compose["services"].values():
        for variable in service.get("environment") or {}:
            if variable.startswith("SEALCHAT_"):
                assert variable in known, variable
