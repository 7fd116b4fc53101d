#!/usr/bin/env bash
# Proves the README's quick start on a truly fresh machine: builds a minimal
# Debian root with debootstrap, gives it nothing but rustup's Rust toolchain (the
# host's, copied) and this checkout, and runs `bash deploy/up.sh --demo` and
# `bash .ci/run` in it — twice — inside network, PID and mount namespaces of its
# own. The root reaches only the package registries, through
# deploy/fresh-machine/registry-proxy.py on a UNIX socket; the host's extra CA
# certificates go into the root, for networks whose TLS is intercepted. It
# prints what each command did and how long it took. Slow (a first build from
# nothing, twice the test suite): run it when the set-up scripts change, not on
# every CI run. Needs root on a Debian/Ubuntu host.
#
#   bash deploy/fresh-machine-check.sh            # keeps the root under $DE_FRESH_DIR
#   DE_FRESH_DIR=/var/tmp/x bash deploy/fresh-machine-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
LOG_TAG=fresh
. deploy/lib.sh
[ "$(id -u)" -eq 0 ] || { log "needs root (debootstrap, namespaces, chroot)"; exit 1; }

WORK="${DE_FRESH_DIR:-/var/tmp/de-fresh}"
ROOT="$WORK/root"
SUITE="${DE_FRESH_SUITE:-bookworm}"
MIRROR="${DE_FRESH_MIRROR:-http://deb.debian.org/debian}"
NS="de-fresh-$$"
TOOLCHAIN="$(rustup show active-toolchain | cut -d' ' -f1)"
RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"

apt_install debootstrap:debootstrap socat:socat ip:iproute2 python3:python3

cleanup() {
  set +e
  [ -n "${bridge_pid:-}" ] && kill "$bridge_pid" 2>/dev/null
  [ -n "${proxy_pid:-}" ] && kill "$proxy_pid" 2>/dev/null
  ip netns del "$NS" 2>/dev/null
  # Mounts live in the check's own mount namespace and went with it; this only
  # catches a root left mounted by a killed run.
  for mount in $(awk -v r="$ROOT" '$2 ~ "^"r {print $2}' /proc/mounts | sort -r); do umount -l "$mount"; done
}
trap cleanup EXIT

started=$(date +%s)
log "building a minimal $SUITE root in $ROOT (debootstrap --variant=minbase)"
for mount in $(awk -v r="$ROOT" '$2 ~ "^"r {print $2}' /proc/mounts | sort -r); do umount -l "$mount"; done
rm -rf "$ROOT"
mkdir -p "$WORK"
debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
  || { tail -20 "$WORK/debootstrap.log"; exit 1; }
log "root built in $(($(date +%s) - started))s: $(chroot "$ROOT" dpkg-query -W | wc -l) packages"

log "adding rustup's toolchain ($TOOLCHAIN, the host's), the extra CA certificates and this checkout"
mkdir -p "$ROOT/root/.rustup/toolchains" "$ROOT/root/.cargo/bin"
cp -a "$RUSTUP_HOME/toolchains/$TOOLCHAIN" "$ROOT/root/.rustup/toolchains/"
printf 'version = "12"\ndefault_toolchain = "%s"\nprofile = "default"\n' "$TOOLCHAIN" >"$ROOT/root/.rustup/settings.toml"
# rustup's proxies (cargo, rustc, cargo-clippy, rustfmt, …) are links to rustup itself.
cp "$CARGO_HOME/bin/rustup" "$ROOT/root/.cargo/bin/rustup"
for proxy in cargo rustc rustdoc cargo-clippy clippy-driver cargo-fmt rustfmt; do
  ln -s rustup "$ROOT/root/.cargo/bin/$proxy"
done
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$ROOT/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
fi
mkdir -p "$ROOT/root/de"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$ROOT/root/de"
mkdir -p "$ROOT/root/fresh"
cp deploy/fresh-machine/inside.sh "$ROOT/root/fresh/"
printf 'de-fresh\n' >"$ROOT/etc/hostname"
printf '127.0.0.1 localhost de-fresh\n::1 localhost ip6-localhost ip6-loopback\n' >"$ROOT/etc/hosts"
# The check's plumbing, not the machine's: the registries through the proxy.
printf 'Acquire::http::Proxy "http://127.0.0.1:3128";\nAcquire::https::Proxy "http://127.0.0.1:3128";\n' \
  >"$ROOT/etc/apt/apt.conf.d/99fresh-machine-proxy"

log "network namespace $NS: loopback only; the registries through a proxy on $WORK/proxy.sock"
ip netns add "$NS"
ip -n "$NS" link set lo up
rm -f "$WORK/proxy.sock" "$WORK/proxy.log"
python3 deploy/fresh-machine/registry-proxy.py --unix "$WORK/proxy.sock" --log "$WORK/proxy.log" &
proxy_pid=$!
for _ in $(seq 50); do [ -S "$WORK/proxy.sock" ] && break; sleep 0.1; done
ip netns exec "$NS" socat TCP-LISTEN:3128,bind=127.0.0.1,reuseaddr,fork "UNIX-CONNECT:$WORK/proxy.sock" 2>/dev/null &
bridge_pid=$!

log "running the README's commands in the fresh root (logs: $ROOT/root/fresh-logs)"
set +e
ip netns exec "$NS" unshare --pid --fork --mount --uts --ipc --propagation private -- bash -c '
  set -e
  root=$1
  hostname de-fresh
  mount -t proc proc "$root/proc"
  mount -t sysfs sys "$root/sys"
  mount --rbind /dev "$root/dev"
  mount -t tmpfs -o mode=1777 shm "$root/dev/shm"
  exec chroot "$root" /usr/bin/env -i HOME=/root USER=root LOGNAME=root LANG=C.UTF-8 TERM=xterm \
    PATH=/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    CARGO_HTTP_PROXY=http://127.0.0.1:3128 PIP_PROXY=http://127.0.0.1:3128 \
    npm_config_proxy=http://127.0.0.1:3128 npm_config_https_proxy=http://127.0.0.1:3128 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
    bash /root/fresh/inside.sh
' check "$ROOT"
status=$?
set -e

log "what left the machine (registry proxy, by host):"
awk '$2 == "allowed" { split($4, hp, ":"); n[hp[1]]++; split($6, r, "="); bytes[hp[1]] += r[2] }
     $2 == "refused" || $2 == "failed" { bad[$2 " " $3 " " $4]++ }
     END { for (h in n) printf "    %-26s %5d connections %10.1f MB received\n", h, n[h], bytes[h] / 1e6
           for (b in bad) printf "    %s (%d times)\n", b, bad[b] }' "$WORK/proxy.log"
log "whole check: $(($(date +%s) - started))s, exit $status"
exit "$status"
