#!/usr/bin/env bash
# The lab's namespace plumbing: simulated hosts = network namespaces `hlab-NAME` on one bridge
# `hlab-br0`, addresses from 198.51.100.0/24 only (the root namespace is .254 on the bridge), one
# dockerd per host. Everything it makes carries the hlab- prefix and is recorded under $HLAB_STATE
# (default /tmp/hlab), so `clean` can remove it after a crash. Processes are ended only by the pid the
# lab recorded (checked against the start time recorded with it), never by name.
#
#   lab.sh up NAME ADDR            netns hlab-NAME, veth hlab-NAME <-> eth0 on hlab-br0, ADDR/24, lo up, ip_forward=1
#   lab.sh down NAME               stop what the lab recorded for NAME, remove its namespace, link, files
#   lab.sh cut NAME | heal NAME    link down / up on the bridge side (the host's processes stay alive)
#   lab.sh loss NAME P             drop a share P (0..1) of the host's packets, both ways; P=0 removes it
#   lab.sh dockerd NAME POOL       start the host's own dockerd (POOL e.g. 10.201.0.0/16), wait for it
#   lab.sh record NAME LABEL PID   record a process the caller started (for down/clean)
#   lab.sh kill NAME LABEL [SIG]   end a recorded process (SIGTERM, then SIGKILL after 10 s)
#   lab.sh clean                   remove everything with the hlab- prefix (processes, mounts, cgroups,
#                                  veths, namespaces, the bridge and its FORWARD rule, the state dir)
set -euo pipefail

STATE=${HLAB_STATE:-/tmp/hlab}
BRIDGE=hlab-br0
ROOT_ADDR=198.51.100.254/24
SUBNET=198.51.100.0/24
RULE_COMMENT=hlab-bridge

die() { echo "lab.sh: $*" >&2; exit 1; }
log() { echo "lab.sh: $*" >&2; }

check_name() {
  [[ $1 =~ ^[a-z0-9]{1,10}$ ]] || die "host name '$1' must be 1-10 of [a-z0-9] (interface names are capped at 15 chars)"
}

check_addr() {
  [[ $1 =~ ^198\.51\.100\.([0-9]{1,3})$ ]] || die "address '$1' is not in $SUBNET"
  local last=${BASH_REMATCH[1]}
  (( last >= 1 && last <= 253 )) || die "address '$1': last octet must be 1..253 (.254 is the root namespace)"
}

nsx() { local name=$1; shift; nsenter --net="/run/netns/hlab-$name" -- "$@"; }

# -- recorded processes: STATE/NAME/pids/LABEL holds "PID STARTTIME" (field 22 of /proc/PID/stat) --

starttime() { awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$1/stat" 2>/dev/null || true; }

record() {
  local name=$1 label=$2 pid=$3
  mkdir -p "$STATE/$name/pids"
  local st; st=$(starttime "$pid")
  [ -n "$st" ] || die "record $name $label: no process $pid"
  echo "$pid $st" >"$STATE/$name/pids/$label"
}

# alive_recorded FILE -> prints the pid when the recorded process still runs (same pid AND start time)
alive_recorded() {
  local pid st
  read -r pid st <"$1" || return 1
  [ -n "${pid:-}" ] && [ -n "${st:-}" ] || return 1
  [ "$(starttime "$pid")" = "$st" ] || return 1
  echo "$pid"
}

kill_recorded() {
  local file=$1 sig=${2:-TERM} wait_s=${3:-10} pid
  [ -f "$file" ] || return 0
  if pid=$(alive_recorded "$file"); then
    kill "-$sig" "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < wait_s * 10; i++)); do
      [ -d "/proc/$pid" ] && [ "$(starttime "$pid")" != "" ] || break
      # a zombie counts as gone (its parent reaps it)
      [ "$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$pid/stat" 2>/dev/null)" = "Z" ] && break
      sleep 0.1
    done
    if [ "$(starttime "$pid")" != "" ] && [ "$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$pid/stat" 2>/dev/null)" != "Z" ]; then
      log "pid $pid ($(basename "$file")) did not end on SIG$sig, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
  fi
  rm -f "$file"
}

# every process whose network namespace is hlab-NAME, and their descendants (container processes
# live in namespaces of their own, but are children of the shims that live in hlab-NAME)
ns_tree_pids() {
  local name=$1
  [ -e "/run/netns/hlab-$name" ] || return 0
  local roots; roots=$(ip netns pids "hlab-$name" 2>/dev/null || true)
  [ -n "$roots" ] || return 0
  # one pass over /proc for "pid ppid", then the closure over it
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v roots="$roots" '
    { line = $0; pid = $1; sub(/^.*\) /, "", line); split(line, f, " "); parent[pid] = f[2] }
    END {
      n = split(roots, r, /[ \n]+/); for (i = 1; i <= n; i++) if (r[i] != "") keep[r[i]] = 1
      do { changed = 0; for (p in parent) if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; changed = 1 } } while (changed)
      out = ""; for (p in keep) out = out p " "; print out
    }'
}

unmount_under() {
  local dir=$1
  # deepest first; -l because a dying shim may still hold one
  awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
  done
}

# the engine's containers live under cgroup parent hlab-NAME (--cgroup-parent); a clean stop removes
# their cgroups, an engine that died leaves them: remove the (by now empty) directories, deepest first
remove_cgroups() {
  local name=$1 d
  for d in /sys/fs/cgroup/hlab-"$name" /sys/fs/cgroup/*/hlab-"$name"; do
    [ -d "$d" ] || continue
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    [ ! -d "$d" ] || log "could not remove cgroup $d"
  done
}

# -- the bridge (shared, in the root namespace) --

ensure_bridge() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    sysctl -qw "net.ipv6.conf.$BRIDGE.disable_ipv6=1" || true
    ip addr add "$ROOT_ADDR" dev "$BRIDGE"
    ip link set "$BRIDGE" up
  fi
  # br_netfilter passes bridged frames through the root namespace's FORWARD chain, whose policy the
  # root dockerd sets to DROP: let frames between lab hosts through (removed by remove_bridge)
  if [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] &&
    ! iptables -C FORWARD -i "$BRIDGE" -o "$BRIDGE" -m comment --comment "$RULE_COMMENT" -j ACCEPT 2>/dev/null; then
    iptables -I FORWARD 1 -i "$BRIDGE" -o "$BRIDGE" -m comment --comment "$RULE_COMMENT" -j ACCEPT
  fi
}

remove_bridge() {
  while iptables -C FORWARD -i "$BRIDGE" -o "$BRIDGE" -m comment --comment "$RULE_COMMENT" -j ACCEPT 2>/dev/null; do
    iptables -D FORWARD -i "$BRIDGE" -o "$BRIDGE" -m comment --comment "$RULE_COMMENT" -j ACCEPT
  done
  if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link del "$BRIDGE"; fi
}

# -- commands --

cmd_up() {
  local name=$1 addr=$2
  check_name "$name"; check_addr "$addr"
  [ ! -e "/run/netns/hlab-$name" ] || die "namespace hlab-$name exists (run: lab.sh clean)"
  mkdir -p "$STATE/$name/pids"
  ensure_bridge
  ip netns add "hlab-$name"
  ip link add "hlab-$name" type veth peer name eth0 netns "hlab-$name"
  sysctl -qw "net.ipv6.conf.hlab-$name.disable_ipv6=1" || true
  ip link set "hlab-$name" master "$BRIDGE"
  ip link set "hlab-$name" up
  nsx "$name" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || true
  nsx "$name" ip addr add "$addr/24" dev eth0
  nsx "$name" ip link set lo up
  nsx "$name" ip link set eth0 up
  nsx "$name" sysctl -qw net.ipv4.ip_forward=1
  echo "$addr" >"$STATE/$name/addr"
}

cmd_down() {
  local name=$1
  check_name "$name"
  local dir="$STATE/$name"
  if [ -d "$dir/pids" ]; then
    # daemons first (helyosd, relays), the engine last: it stops its containers and unmounts them
    for f in "$dir"/pids/*; do
      [ -e "$f" ] || continue
      [ "$(basename "$f")" = dockerd ] && continue
      kill_recorded "$f" TERM 5
    done
    kill_recorded "$dir/pids/dockerd" TERM 30
  fi
  # whatever still runs in the namespace (a shim or container of an engine that died): by pid
  local left; left=$(ns_tree_pids "$name")
  if [ -n "$left" ]; then
    log "hlab-$name: ending leftover pids $left"
    kill -KILL $left 2>/dev/null || true
    sleep 0.5
  fi
  unmount_under "$dir"
  remove_cgroups "$name"
  if ip link show "hlab-$name" >/dev/null 2>&1; then ip link del "hlab-$name"; fi
  if [ -e "/run/netns/hlab-$name" ]; then ip netns del "hlab-$name"; fi
  rm -rf "$dir"
}

cmd_cut() {
  check_name "$1"
  ip link set "hlab-$1" down
}

cmd_heal() {
  check_name "$1"
  ip link set "hlab-$1" up
}

cmd_loss() {
  local name=$1 p=$2
  check_name "$name"
  [[ $p =~ ^(0(\.[0-9]+)?|1(\.0+)?)$ ]] || die "loss: probability '$p' must be within 0..1"
  nsx "$name" iptables -N HLAB-LOSS 2>/dev/null || true
  nsx "$name" iptables -F HLAB-LOSS
  nsx "$name" iptables -C INPUT -i eth0 -j HLAB-LOSS 2>/dev/null || nsx "$name" iptables -I INPUT 1 -i eth0 -j HLAB-LOSS
  nsx "$name" iptables -C OUTPUT -o eth0 -j HLAB-LOSS 2>/dev/null || nsx "$name" iptables -I OUTPUT 1 -o eth0 -j HLAB-LOSS
  if [ "$(awk -v p="$p" 'BEGIN { print (p > 0) }')" = 1 ]; then
    nsx "$name" iptables -A HLAB-LOSS -m statistic --mode random --probability "$p" -j DROP
  fi
}

cmd_dockerd() {
  local name=$1 pool=$2
  check_name "$name"
  [[ $pool =~ ^10\.[0-9]{1,3}\.0\.0/16$ ]] || die "dockerd: address pool '$pool' must be 10.X.0.0/16"
  [ -e "/run/netns/hlab-$name" ] || die "no namespace hlab-$name (lab.sh up first)"
  local dir="$STATE/$name"
  mkdir -p "$dir/docker" "$dir/exec" "$dir/pids"
  echo '{}' >"$dir/daemon.json"
  # nsenter --net only (not `ip netns exec`, which remounts /sys and hides the cgroup v1 mounts)
  setsid nsenter --net="/run/netns/hlab-$name" -- dockerd \
    --data-root "$dir/docker" --exec-root "$dir/exec" -H "unix://$dir/docker.sock" \
    --pidfile "$dir/docker.pid" --config-file "$dir/daemon.json" --bridge=none \
    --default-address-pool "base=$pool,size=24" --cgroup-parent "hlab-$name" --shutdown-timeout 2 \
    </dev/null >"$dir/dockerd.log" 2>&1 &
  local pid=$!
  record "$name" dockerd "$pid"
  local i
  for ((i = 0; i < 600; i++)); do
    if docker -H "unix://$dir/docker.sock" version --format '{{.Server.Version}}' >/dev/null 2>&1; then
      echo "unix://$dir/docker.sock"
      return 0
    fi
    [ -d "/proc/$pid" ] || { tail -20 "$dir/dockerd.log" >&2; die "dockerd of $name exited"; }
    sleep 0.1
  done
  tail -20 "$dir/dockerd.log" >&2
  die "dockerd of $name did not answer within 60 s"
}

cmd_kill() {
  local name=$1 label=$2 sig=${3:-TERM}
  check_name "$name"
  kill_recorded "$STATE/$name/pids/$label" "$sig" 10
}

cmd_clean() {
  local names=""
  if [ -d "$STATE" ]; then
    for d in "$STATE"/*/; do
      [ -d "$d" ] || continue
      names="$names $(basename "$d")"
    done
  fi
  for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
    case $ns in hlab-*) names="$names ${ns#hlab-}" ;; esac
  done
  for link in $(ip -o link show 2>/dev/null | awk -F': ' '{ print $2 }' | cut -d@ -f1); do
    case $link in hlab-br0) ;; hlab-*) names="$names ${link#hlab-}" ;; esac
  done
  local seen=" " n
  for n in $names; do
    [[ $seen == *" $n "* ]] && continue
    seen="$seen$n "
    case $n in _*) continue ;; esac   # the lab's own files (CLI config, specs), not a host
    if [[ $n =~ ^[a-z0-9]{1,10}$ ]]; then cmd_down "$n"; else log "ignoring odd entry '$n'"; fi
  done
  remove_bridge
  if [ -d "$STATE" ]; then
    unmount_under "$STATE"
    rm -rf "$STATE"
  fi
}

main() {
  [ "$(id -u)" = 0 ] || die "needs root (network namespaces, bridges, dockerd)"
  local cmd=${1:-}
  shift || true
  case $cmd in
    up) [ $# = 2 ] || die "usage: up NAME ADDR"; cmd_up "$@" ;;
    down) [ $# = 1 ] || die "usage: down NAME"; cmd_down "$@" ;;
    cut) [ $# = 1 ] || die "usage: cut NAME"; cmd_cut "$@" ;;
    heal) [ $# = 1 ] || die "usage: heal NAME"; cmd_heal "$@" ;;
    loss) [ $# = 2 ] || die "usage: loss NAME P"; cmd_loss "$@" ;;
    dockerd) [ $# = 2 ] || die "usage: dockerd NAME POOL"; cmd_dockerd "$@" ;;
    record) [ $# = 3 ] || die "usage: record NAME LABEL PID"; check_name "$1"; record "$@" ;;
    kill) [ $# -ge 2 ] || die "usage: kill NAME LABEL [SIG]"; cmd_kill "$@" ;;
    clean) cmd_clean ;;
    *) die "usage: lab.sh up|down|cut|heal|loss|dockerd|record|kill|clean …" ;;
  esac
}

main "$@"
