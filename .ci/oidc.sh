#!/usr/bin/env bash
# Install the OpenID provider the single sign-on tests start on loopback (the oidc-provider
# npm package, pinned in tests/oidc/package-lock.json); fail loudly if it cannot be had.
set -euo pipefail
cd "$(dirname "$0")/../tests/oidc"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "oidc: installing Node.js and npm" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nodejs npm >/dev/null
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "${major}" -lt 18 ]; then
  echo "oidc: Node.js ${major} is too old for oidc-provider (18 or later)" >&2
  exit 1
fi
if [ ! -d node_modules/oidc-provider ]; then
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
fi
node -e 'import("oidc-provider").then(() => process.exit(0))' || {
  echo "oidc: oidc-provider does not load; the single sign-on tests need it" >&2
  exit 1
}
echo "oidc: oidc-provider $(node -p 'require("./node_modules/oidc-provider/package.json").version') on Node.js $(node --version)" >&2
