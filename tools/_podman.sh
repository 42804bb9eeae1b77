# Used by tools/test: Podman and podman-compose (Debian's packages) for the container
# test, which builds the image and runs deploy/compose.yaml (tests/deploy). Installed
# with apt when missing and we may; otherwise that test skips, or fails in CI. See docs/deployment.md, "Containers".
if ! command -v podman >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1 \
    || ! command -v debootstrap >/dev/null 2>&1 || ! command -v podman-compose >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing podman, podman-compose, runc and debootstrap for the container test"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      podman podman-compose runc debootstrap >/dev/null
  else
    echo "warning: podman is missing (apt-get install podman podman-compose runc debootstrap); the container test will skip" >&2
  fi
fi
# Podman as root on hosts with hybrid cgroups: cgroupfs, no default ulimits (crun is
# avoided by passing --runtime runc on every call).
if command -v podman >/dev/null 2>&1 && [ "$(id -u)" = "0" ] \
    && [ ! -e /etc/containers/containers.conf ]; then
  mkdir -p /etc/containers
  printf '[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\n' \
    > /etc/containers/containers.conf
fi
