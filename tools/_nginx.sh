# Used by tools/test: Debian's nginx for the cluster tests (tests/cluster runs
# deploy/nginx/sealchat.conf in front of three nodes). Installed with apt when missing
# and we may; otherwise the cluster tests skip, or fail in CI.
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's nginx-light for the cluster tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
  else
    echo "warning: nginx is missing (apt-get install nginx-light); cluster tests will skip" >&2
  fi
fi
