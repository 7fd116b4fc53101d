#!/bin/bash
# Runs inside the fresh root that deploy/fresh-machine-check.sh built, as the first
# process of its own PID, mount and network namespaces (everything it starts dies
# with it): the README's two commands the way a newcomer runs them, first with a
# terminal for the demo and without one for the tests, then both again the other
# way round to show that a second run is quick and changes nothing. It prints one
# block per step and writes the full logs to /root/fresh-logs.
set -u
cd /root/de
LOGS=/root/fresh-logs
mkdir -p "$LOGS"
STEP_TIMEOUT=${STEP_TIMEOUT:-5400}

say() { printf '\n\033[1m[fresh]\033[0m %s\n' "$*"; }
packages() { dpkg-query -W -f='${Package}\n' 2>/dev/null | sort; }
etc_state() { find /etc -xdev -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum 2>/dev/null; }

# Listening TCP sockets, read from /proc (the root has no ss): "address:port".
listening() {
  awk 'function hex(s,  i, n) { n = 0; for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789ABCDEF", substr(s, i, 1)) - 1; return n }
       FNR > 1 && $4 == "0A" {
         split($2, a, ":"); port = hex(a[2]); h = a[1]
         if (length(h) == 8) addr = hex(substr(h,7,2)) "." hex(substr(h,5,2)) "." hex(substr(h,3,2)) "." hex(substr(h,1,2))
         else if (h == "00000000000000000000000000000000") addr = "[::]"
         else if (h == "00000000000000000000000001000000") addr = "[::1]"
         else addr = "[" h "]"
         print addr ":" port
       }' /proc/net/tcp /proc/net/tcp6 | sort -u
}

report_listening() {
  local where=$1 bad
  say "listening sockets $where:"
  listening | sed 's/^/    /'
  # 3128 is this check's own bridge to the registry proxy, not the project's.
  # epmd always adds the IPv6 loopback to the address it is given.
  bad=$(listening | grep -v -E '^(127\.0\.0\.1|\[::1\]):' || true)
  if [ -n "$bad" ]; then
    say "NOT LOOPBACK-ONLY: $(echo $bad)"
    FAILURES+=("listening beyond 127.0.0.1 $where: $(echo $bad)")
  else
    say "every listening socket is on loopback (127.0.0.1; epmd adds ::1 itself)"
  fi
}

# pid of the process whose command line begins with $1 (no procps here).
pid_of() {
  local dir
  for dir in /proc/[0-9]*; do
    if tr '\0' ' ' <"$dir/cmdline" 2>/dev/null | grep -q "^$1"; then
      basename "$dir"
      return 0
    fi
  done
  return 1
}

FAILURES=()
SUMMARY=()
step_begin() {
  STEP=$1
  say "── $STEP"
  packages >"$LOGS/packages.before"
  etc_state >"$LOGS/etc.before"
  STEP_START=$(date +%s)
}
step_end() {
  local rc=$1 secs=$(($(date +%s) - STEP_START)) installed etc_changes
  packages >"$LOGS/packages.after"
  etc_state >"$LOGS/etc.after"
  installed=$(comm -13 "$LOGS/packages.before" "$LOGS/packages.after" | wc -l)
  etc_changes=$(diff "$LOGS/etc.before" "$LOGS/etc.after" | grep -c '^[<>]' || true)
  say "$STEP: exit $rc after ${secs}s; Debian packages installed: $installed; files in /etc changed: $etc_changes"
  if [ "$installed" -gt 0 ]; then
    echo "    new packages: $(comm -13 "$LOGS/packages.before" "$LOGS/packages.after" | tr '\n' ' ')" | fold -s -w 110 | sed '2,$s/^/    /'
  fi
  SUMMARY+=("$(printf '%-44s exit %-3s %6ss  +%s packages, %s /etc files changed' "$STEP" "$rc" "$secs" "$installed" "$etc_changes")")
  [ "$rc" -eq 0 ] || FAILURES+=("$STEP exited $rc")
  LAST_INSTALLED=$installed
  LAST_ETC=$etc_changes
}

# The README's curl lines against the running demo: every one must answer succeeded.
readme_curls() {
  awk '/^curl -s http:\/\/127\.0\.0\.1:8080\/v1\/jobs/ { grab = 1 }
       grab { print; if ($0 !~ /\\$/) { print "#--"; grab = 0 } }' README.md >"$LOGS/readme-curls.sh"
  local n=0 ok=0 command=""
  while IFS= read -r line; do
    if [ "$line" = "#--" ]; then
      n=$((n + 1))
      if bash -c "$command" >"$LOGS/curl-$n.json" 2>&1 && grep -q '"status":"succeeded"' "$LOGS/curl-$n.json"; then
        ok=$((ok + 1))
        say "README curl line $n: succeeded ($(head -c 160 "$LOGS/curl-$n.json")…)"
      else
        say "README curl line $n did not succeed: $(head -c 400 "$LOGS/curl-$n.json")"
        FAILURES+=("README curl line $n")
      fi
      command=""
    else
      command+="$line"$'\n'
    fi
  done <"$LOGS/readme-curls.sh"
  [ "$n" -gt 0 ] || FAILURES+=("no curl line found in README.md")
}

# `bash deploy/up.sh --demo`, until the demo has printed its results and the API
# is up; then the README's curl lines; then SIGTERM, as Ctrl-C would.
demo() {
  local label=$1 with_terminal=$2 log="$LOGS/$1.log" runner waited=0 demo_pid
  step_begin "$label: bash deploy/up.sh --demo ($with_terminal)"
  if [ "$with_terminal" = "terminal" ]; then
    # A pseudo-terminal (script), as in an interactive session.
    script -qefc "bash deploy/up.sh --demo" "$log" </dev/null >/dev/null 2>&1 &
  else
    setsid bash deploy/up.sh --demo </dev/null >"$log" 2>&1 &
  fi
  runner=$!
  until grep -q "The API is up at" "$log" 2>/dev/null; do
    if ! kill -0 "$runner" 2>/dev/null || [ "$waited" -ge "$STEP_TIMEOUT" ]; then break; fi
    sleep 2
    waited=$((waited + 2))
  done
  if grep -q "The API is up at" "$log"; then
    local up_secs=$(($(date +%s) - STEP_START))
    say "the demo is up after ${up_secs}s; its results:"
    sed -n '/== results ==/,/The API is up/p' "$log" | tr -d '\r' | sed 's/^/    /' | head -40
    local jobs succeeded
    jobs=$(sed -n '/== results ==/,/The API is up/p' "$log" | grep -c -E '^job_' || true)
    succeeded=$(sed -n '/== results ==/,/The API is up/p' "$log" | grep -c -E '^job_.* succeeded ' || true)
    say "demo jobs: $succeeded of $jobs succeeded"
    [ "$jobs" -gt 0 ] && [ "$jobs" = "$succeeded" ] || FAILURES+=("$label: demo jobs $succeeded/$jobs succeeded")
    tr -d '\r' <"$log" | sed 's/\x1b\[[0-9;]*m//g' | grep -E '^\[(up|s3)\]' | sed 's/^/    /'
    readme_curls
    report_listening "while the demo runs"
    demo_pid=$(pid_of ./target/release/electrons) && kill -TERM "$demo_pid"
    wait "$runner"
    step_end $?
  else
    say "the demo did not come up (waited ${waited}s); the end of its log:"
    tail -40 "$log" | tr -d '\r' | sed 's/^/    /'
    kill -TERM "$runner" 2>/dev/null
    step_end 1
  fi
}

tests() {
  local label=$1 with_terminal=$2 log="$LOGS/$1.log" rc
  step_begin "$label: bash .ci/run ($with_terminal)"
  if [ "$with_terminal" = "terminal" ]; then
    timeout "$STEP_TIMEOUT" script -qefc "bash .ci/run" "$log" </dev/null >/dev/null 2>&1
  else
    timeout "$STEP_TIMEOUT" setsid bash .ci/run </dev/null >"$log" 2>&1
  fi
  rc=$?
  tr -d '\r' <"$log" | sed 's/\x1b\[[0-9;]*m//g' | grep -E '^\[(up|s3|ci)\]|Finished|test result:|Summary|tests run|FAIL|error(\[|:)' \
    | sed 's/^/    /' | tail -40
  local passed
  passed=$(tr -d '\r' <"$log" | grep -oE '^test result: [a-zA-Z]+\. [0-9]+ passed' | awk '{s += $4} END {print s + 0}')
  say "tests passed (cargo test result lines): $passed"
  step_end "$rc"
}

say "fresh root: $(. /etc/os-release; echo "$PRETTY_NAME"), $(dpkg-query -W -f='${Package}\n' | wc -l) packages; $(rustc --version); cc: $(command -v cc || echo none); curl: $(command -v curl || echo none); psql: $(command -v psql || echo none); python3: $(command -v python3 || echo none)"
demo first-demo terminal
tests first-tests no-terminal
demo second-demo no-terminal
[ "$LAST_INSTALLED" = 0 ] && [ "$LAST_ETC" = 0 ] || FAILURES+=("the second demo run changed the machine")
tests second-tests terminal
[ "$LAST_INSTALLED" = 0 ] && [ "$LAST_ETC" = 0 ] || FAILURES+=("the second test run changed the machine")
report_listening "after the tests"

say "summary:"
printf '    %s\n' "${SUMMARY[@]}"
if [ ${#FAILURES[@]} -gt 0 ]; then
  say "FAILED:"
  printf '    %s\n' "${FAILURES[@]}"
  exit 1
fi
say "both commands ran to the end with no input, twice"
