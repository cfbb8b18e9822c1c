# scripts/lib/apt.bash - sourced by scripts/setup-*.sh: install_debian_packages NAME...
#
# Installs the Debian packages of the list that are missing, as root or through sudo,
# without questions (no stdin). Runs no apt command at all when every package is there.
# Returns non-zero when packages are missing and cannot be installed.
setup_log() { printf '%s: %s\n' "${SETUP_NAME:-setup}" "$*" >&2; }

install_debian_packages() {
    local p status missing=() sudo=()
    for p in "$@"; do
        status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
        [[ $status == installed ]] || missing+=("$p")
    done
    if ((${#missing[@]} == 0)); then
        setup_log "all $# Debian packages already installed"
        return 0
    fi
    if ((EUID != 0)); then
        if ! command -v sudo >/dev/null 2>&1; then
            setup_log "missing packages (${missing[*]}) and neither root nor sudo: install them by hand"
            return 1
        fi
        sudo=(sudo)
    fi
    setup_log "installing ${missing[*]}"
    "${sudo[@]}" apt-get update -q </dev/null || return 1
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
}
