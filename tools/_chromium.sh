# Used by tools/test: Debian's Chromium for the browser tests (Playwright drives
# /usr/bin/chromium; browser downloads are not used). Installed with apt when missing
# and we may; otherwise the browser tests skip, or fail in CI.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "warning: /usr/bin/chromium is missing (apt-get install chromium); browser tests will skip" >&2
  fi
fi
