#!/usr/bin/env bash
# Installs the Debian packages the tests use, when they are missing: chromium (dashboard tests),
# poppler-utils (rendering the package PDF), node and npm (axe-core, the JavaScript verifier). Says what it could not install instead of failing, so the
# tests that need them can name the gap.
set -u
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} (apt-get)"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    || echo "could not install ${missing[*]}; the tests that need them will say so"
else
  echo "missing ${missing[*]}: install them with your package manager (the tests that need them will say so)"
fi
exit 0
