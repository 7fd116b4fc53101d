# Shared by deploy/up.sh, deploy/s3-server.sh and .ci/run (source it; it runs nothing):
# installing missing Debian packages without a prompt, waiting for ports, and
# finding a PostgreSQL URL that really connects. Nothing here may wait for input:
# these scripts run on CI and in terminals alike.

LOG_TAG="${LOG_TAG:-up}"
log() { printf '\033[1m[%s]\033[0m %s\n' "$LOG_TAG" "$*"; }

# Root runs commands itself; anyone else goes through sudo, which may ask for the
# user's own password on a terminal but never waits for one without a terminal.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif [ -t 0 ]; then
    sudo "$@"
  else
    sudo -n "$@"
  fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() {
  local port=$1 name=$2 tries=${3:-90}
  for _ in $(seq "$tries"); do
    if port_open "$port"; then return 0; fi
    sleep 1
  done
  log "$name did not open port $port in ${tries}s"
  return 1
}

# apt_install NEED:PACKAGE... — installs each PACKAGE whose NEED, a command name
# or an absolute path, is missing (a machine may have psql without Debian's
# `postgresql-client` package), with no question asked (debconf, conffiles,
# Ubuntu's needrestart) and without recommends. When nothing is missing nothing
# happens, not even `apt-get update`.
apt_install() {
  local missing=() pair need
  for pair in "$@"; do
    need="${pair%%:*}"
    case "$need" in
      /*) [ -e "$need" ] && continue ;;
      *) command -v "$need" >/dev/null 2>&1 && continue ;;
    esac
    missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] || apt_get_install "${missing[@]}"
}

apt_get_install() {
  log "installing $* (Debian packages)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a apt-get install -y -qq \
    --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "$@" >/dev/null
}

# pg_connects URL — true when psql reaches that server with what the URL (and the
# usual PG* environment, which DE's driver reads too) carries; never prompts.
pg_connects() {
  PGCONNECT_TIMEOUT=5 psql -w -X -qAtc 'SELECT 1' "$1" </dev/null >/dev/null 2>&1
}

# The same URL pointed at the `postgres` database, which always exists (DE
# creates its own database at start-up, so that one may not exist yet).
pg_admin_url() {
  printf '%s\n' "$1" | sed -E 's#^(postgres(ql)?://[^/?]*)(/[^?]*)?#\1/postgres#'
}

DE_DEFAULT_DATABASE_URL="postgres://postgres@127.0.0.1:5432/electrons"
DE_PASSWORD_DATABASE_URL="postgres://postgres:postgres@127.0.0.1:5432/electrons"

# Prints the database URL DE should use: DE_DATABASE_URL when it is set (and
# fails when it does not connect), else the first of the passwordless default and
# the development password (`postgres`, which deploy/up.sh sets when the server
# asks for one) that connects.
pick_database_url() {
  local url
  if [ -n "${DE_DATABASE_URL:-}" ]; then
    if pg_connects "$(pg_admin_url "$DE_DATABASE_URL")"; then
      printf '%s\n' "$DE_DATABASE_URL"
      return 0
    fi
    log "DE_DATABASE_URL is set but does not connect (checked with psql -w)" >&2
    return 1
  fi
  for url in "$DE_DEFAULT_DATABASE_URL" "$DE_PASSWORD_DATABASE_URL"; do
    if pg_connects "$(pg_admin_url "$url")"; then
      printf '%s\n' "$url"
      return 0
    fi
  done
  return 1
}
