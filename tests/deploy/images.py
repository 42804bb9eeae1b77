"""Container images for the deployment test, built with Podman as docs/deployment.md says.

No image registry is reachable on the test machines, so the images users pull
(``python:3.11-slim``, ``node:20-bookworm-slim``, ``postgres``, ``redis``, ``nginx``) are
replaced by local stand-ins built from Debian's packages: a base made with debootstrap, then
Python, the host's Node.js, PostgreSQL, Redis or nginx on top. All of them are kept between
runs (``podman image exists``); only the Sealchat image itself is rebuilt (its layers are
cached by Podman).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PODMAN = ("podman", "--runtime", "runc")
DEBIAN_BASE = "localhost/debian-base:bookworm"
PYTHON_BASE = "localhost/sealchat-test-python:3.11"
NODE_BASE = "localhost/sealchat-test-node:20"
NGINX_IMAGE = "localhost/sealchat-test-nginx:bookworm"
POSTGRES_IMAGE = "localhost/sealchat-test-postgres:15"
REDIS_IMAGE = "localhost/sealchat-test-redis:7"
# One tag per checkout: engineers testing side by side do not run each other's builds.
IMAGE = f"localhost/sealchat:test-{hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]}"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")

# nginx like the official image: configuration in conf.d, no Debian default site.
# The host's CA bundle goes into the stand-ins: where package registries are reached
# through a TLS-inspecting proxy, pip and npm inside the build must trust what the host does.
PYTHON_STANDIN = """\
FROM {base}
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
      python3 python3-venv ca-certificates && rm -rf /var/lib/apt/lists/*
COPY ca-certificates.crt /etc/ssl/certs/host-ca.crt
ENV PIP_CERT=/etc/ssl/certs/host-ca.crt SSL_CERT_FILE=/etc/ssl/certs/host-ca.crt
"""
NODE_STANDIN = """\
FROM {base}
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
      libstdc++6 ca-certificates && rm -rf /var/lib/apt/lists/*
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
COPY ca-certificates.crt /etc/ssl/certs/host-ca.crt
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/host-ca.crt
"""
NGINX_STANDIN = """\
FROM {base}
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
      nginx-light && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/default
CMD ["nginx", "-g", "daemon off;"]
"""
# PostgreSQL like the official image: POSTGRES_USER/_PASSWORD/_DB make the first cluster,
# password authentication from anywhere, data in /var/lib/postgresql/data.
POSTGRES_STANDIN = """\
FROM {base}
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
      postgresql-15 && rm -rf /var/lib/apt/lists/*
COPY postgres-entrypoint /usr/local/bin/postgres-entrypoint
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]
"""
POSTGRES_ENTRYPOINT = """\
#!/bin/sh
set -e
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /run/postgresql
  chown postgres:postgres "$PGDATA" /run/postgresql && chmod 0700 "$PGDATA"
  exec runuser -u postgres -- "$0" "$@"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  printf '%s' "$POSTGRES_PASSWORD" > /tmp/pw
  initdb -U "$POSTGRES_USER" --pwfile=/tmp/pw -A scram-sha-256 >/dev/null && rm /tmp/pw
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  echo "CREATE DATABASE \\"$POSTGRES_DB\\";" | postgres --single -D "$PGDATA" postgres >/dev/null
fi
exec postgres -D "$PGDATA" -c listen_addresses='*'
"""
# Redis like the official image: reachable from other containers without a password.
REDIS_STANDIN = """\
FROM {base}
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
      redis-server && rm -rf /var/lib/apt/lists/*
RUN printf '#!/bin/sh\\nexec "$@" --protected-mode no\\n' > /usr/local/bin/redis-entrypoint \\
    && chmod 0755 /usr/local/bin/redis-entrypoint
ENTRYPOINT ["/usr/local/bin/redis-entrypoint"]
CMD ["redis-server"]
"""


def run(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure, raise with the end of its output (builds are long)."""
    try:
        return subprocess.run(args, check=True, text=True, **kwargs)  # type: ignore[call-overload, no-any-return]
    except subprocess.CalledProcessError as exc:
        output = f"{exc.stdout or ''}{exc.stderr or ''}"[-4000:]
        command = " ".join(args[:6])
        raise RuntimeError(f"{command} ... failed ({exc.returncode}):\n{output}") from exc


def exists(image: str) -> bool:
    return subprocess.run([*PODMAN, "image", "exists", image], check=False).returncode == 0


def debian_base() -> None:
    """debootstrap bookworm (minbase) from apt's own mirror, imported as an image."""
    if exists(DEBIAN_BASE):
        return
    sources = Path("/etc/apt/sources.list.d/debian.sources").read_text()
    mirror = next(line.split()[1] for line in sources.splitlines() if line.startswith("URIs:"))
    with tempfile.TemporaryDirectory() as rootfs:
        run("debootstrap", "--variant=minbase", "bookworm", rootfs, mirror, capture_output=True)
        # The context closes tar's pipe and waits for it (no unclosed file left behind).
        with subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE) as tar:
            run(*PODMAN, "import", "-", DEBIAN_BASE, stdin=tar.stdout, capture_output=True)


def standin(image: str, containerfile: str, files: dict[str, Path]) -> None:
    if exists(image):
        return
    with tempfile.TemporaryDirectory() as context:
        for name, source in files.items():
            target = Path(context) / name
            if source.is_dir():
                shutil.copytree(source, target, symlinks=True)
            else:
                shutil.copy2(source, target)
        (Path(context) / "Containerfile").write_text(containerfile.format(base=DEBIAN_BASE))
        run(*PODMAN, "build", "--network", "host", "-t", image, context, capture_output=True)


def base_images() -> None:
    debian_base()
    standin(PYTHON_BASE, PYTHON_STANDIN, {"ca-certificates.crt": HOST_CA})
    node = Path(shutil.which("node") or "/usr/bin/node").resolve()
    npm = Path(shutil.which("npm") or "/usr/bin/npm").resolve().parents[1]
    standin(NODE_BASE, NODE_STANDIN, {"node": node, "npm": npm, "ca-certificates.crt": HOST_CA})
    standin(NGINX_IMAGE, NGINX_STANDIN, {})


def compose_images() -> None:
    """Stand-ins for the PostgreSQL and Redis images of deploy/compose.yaml."""
    debian_base()
    with tempfile.TemporaryDirectory() as scripts:
        entrypoint = Path(scripts) / "postgres-entrypoint"
        entrypoint.write_text(POSTGRES_ENTRYPOINT)
        entrypoint.chmod(0o755)
        standin(POSTGRES_IMAGE, POSTGRES_STANDIN, {"postgres-entrypoint": entrypoint})
    standin(REDIS_IMAGE, REDIS_STANDIN, {})


def sealchat_image() -> None:
    """The project's Containerfile, on the stand-in bases."""
    run(
        *PODMAN, "build", "--network", "host",
        "--build-arg", f"BASE={PYTHON_BASE}",
        "--build-arg", f"NODE_BASE={NODE_BASE}",
        "-f", str(ROOT / "Containerfile"), "-t", IMAGE, str(ROOT),
        capture_output=True,
    )  # fmt: skip


if __name__ == "__main__":
    base_images()
    sealchat_image()
