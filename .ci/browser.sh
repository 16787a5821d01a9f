#!/usr/bin/env bash
# Install the browser the report-page tests drive (Debian's Chromium, through Playwright);
# fail loudly if it cannot be had. Playwright's own browser downloads are never used.
set -euo pipefail

if [ ! -x /usr/bin/chromium ]; then
  echo "browser: installing Chromium" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
version=$(/usr/bin/chromium --headless --no-sandbox --version 2>/dev/null) || {
  echo "browser: /usr/bin/chromium does not start; the report-page tests need it" >&2
  exit 1
}
echo "browser: ${version} at /usr/bin/chromium" >&2
