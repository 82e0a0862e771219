# shellcheck shell=bash
# Sourced by .ci/run: installs the browser loop-demo's page test drives (Debian's headless chromium and
# its chromedriver) when they are missing.
install_browser_tools() {
    if ! command -v chromedriver >/dev/null || ! command -v chromium >/dev/null; then
        echo "installing chromium and chromium-driver from Debian's packages" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq chromium chromium-driver >&2 ||
            { apt-get update -qq >&2 && apt-get install -y -qq chromium chromium-driver >&2; }
    fi
}
