#!/usr/bin/env bash
# A Vulkan driver for the WebGPU tests on a CPU: Mesa's lavapipe, version 25 from Debian bookworm-backports (the
# stock bookworm Mesa 22.3 is too old: Dawn rejects its adapter). Idempotent: adds bookworm-backports to apt's
# sources only if no source lists it, taking the mirror from the source that lists bookworm itself (a machine behind
# its own mirror keeps using it), and installs only what is missing. Needs root (CI runs as root) and a Debian
# mirror in apt's sources. `.ci/run` calls it; run it by hand on a machine where the WebGPU tests say no adapter was
# found. `install-vulkan.sh --print-mirror` only prints the mirror it would use (FLATGRAD_APT_DIR: apt's directory,
# /etc/apt unless set; the tests point it at fake sources).
set -euo pipefail

APT_DIR="${FLATGRAD_APT_DIR:-/etc/apt}"

# Every enabled `deb` entry of apt's sources, one line per suite: `<suite> <uri> <signed-by or ->`. apt reads
# sources.list, then sources.list.d/*.list (one-line format) and *.sources (deb822) in name order; it ignores other
# names (foo.list.disabled) and so does this.
apt_entries() {
  local files=() f
  [ -f "$APT_DIR/sources.list" ] && files+=("$APT_DIR/sources.list")
  for f in "$APT_DIR"/sources.list.d/*; do
    case "$f" in *.list | *.sources) [ -f "$f" ] && files+=("$f") ;; esac
  done
  for f in ${files[@]+"${files[@]}"}; do
    case "$f" in
      *.sources)
        awk 'BEGIN { RS = ""; FS = "\n" }
          {
            delete v; key = ""
            for (i = 1; i <= NF; i++) {
              line = $i
              if (line ~ /^#/) continue
              if (line ~ /^[ \t]/) { if (key != "") v[key] = v[key] " " line; continue }
              k = index(line, ":"); if (k == 0) continue
              key = tolower(substr(line, 1, k - 1)); v[key] = substr(line, k + 1)
            }
            if (tolower(v["enabled"]) ~ /no/ || (" " v["types"] " ") !~ /[ \t]deb[ \t]/) next
            split(v["signed-by"], s, " "); signed = (s[1] ~ /^\// ? s[1] : "-")
            n = split(v["uris"], uris, " "); m = split(v["suites"], suites, " ")
            for (j = 1; j <= m; j++) if (n > 0) print suites[j], uris[1], signed
          }' "$f"
        ;;
      *)
        awk '$1 == "deb" {
            signed = "-"; i = 2
            if ($2 ~ /^\[/) {
              for (; i <= NF; i++) {
                if ($i ~ /^\[?signed-by=/) { signed = $i; sub(/^\[?signed-by=/, "", signed); sub(/\]$/, "", signed) }
                if ($i ~ /\]$/) { i++; break }
              }
            }
            if (i + 1 <= NF) print $(i + 1), $i, signed
          }' "$f"
        ;;
    esac
  done
}

# The mirror (and its keyring) of the first entry that lists the suite itself (bookworm, not bookworm-security).
debian_mirror() {
  apt_entries | awk -v suite="$1" '$1 == suite { print $2, $3; found = 1; exit } END { exit !found }'
}

no_mirror() {
  echo "install-vulkan: no enabled entry in apt's sources ($APT_DIR/sources.list, $APT_DIR/sources.list.d/*.list, *.sources) lists Debian's $1 suite, so there is no mirror to take $1-backports from; add your Debian mirror's $1 entry, or install Mesa >= 25's lavapipe (mesa-vulkan-drivers) and libvulkan1 yourself" >&2
  exit 1
}

if [ "${1:-}" = --print-mirror ]; then
  if apt_entries | awk '$1 == "bookworm-backports" { found = 1 } END { exit !found }'; then echo "bookworm-backports is already listed"; exit 0; fi
  mirror=$(debian_mirror bookworm) || no_mirror bookworm
  echo "$mirror"
  exit 0
fi

if dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q '^25\.' && [ -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ]; then
  echo "install-vulkan: Mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) lavapipe is already installed"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-vulkan: needs root (apt-get install); run it as root or with sudo" >&2
  exit 1
fi
. /etc/os-release
if [ "${VERSION_CODENAME:-}" != bookworm ]; then
  echo "install-vulkan: written for Debian bookworm, this is ${PRETTY_NAME:-unknown}; install Mesa >= 25's lavapipe (mesa-vulkan-drivers) and libvulkan1 yourself" >&2
  exit 1
fi
if ! apt_entries | awk '$1 == "bookworm-backports" { found = 1 } END { exit !found }'; then
  mirror=$(debian_mirror bookworm) || no_mirror bookworm
  read -r uri signed <<<"$mirror"
  # An entry with no keyring of its own is checked against apt's trusted keys (a mirror's own key among them): so is this one.
  signed_by=$([ "$signed" = - ] || echo "Signed-By: $signed")
  cat > "$APT_DIR/sources.list.d/bookworm-backports.sources" <<SOURCES
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
${signed_by}
SOURCES
  echo "install-vulkan: added bookworm-backports from $uri to apt's sources"
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq -t bookworm-backports --no-install-recommends mesa-vulkan-drivers libvulkan1 >/dev/null
echo "install-vulkan: installed Mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) lavapipe"
