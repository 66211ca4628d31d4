#!/usr/bin/env bash
# Runs the workloads of shared/BENCHMARKS.md on coos and on the tokio peer
# (shared/peers/tokio), pair by pair on the same machine, and prints for
# each the median of both, the ratio coos/tokio, and issue 4's target.
#
#   bench/compare.sh [-r ROUNDS] [-w WORKLOAD] [-n N]
#
# Each round runs every workload once on coos, then at once on tokio, so
# that a change in the machine's load touches both alike. Every result line
# goes to target/bench/compare-DATE.log as well.
set -euo pipefail

WORKLOADS=(spawn yield pingpong ring skynet sleep pipe idle httpd)

usage() {
    cat <<USAGE
Usage: bench/compare.sh [-r ROUNDS] [-w WORKLOAD] [-n N]
Run the benchmark workloads on coos and on tokio, alternating, and print
medians, ratios (coos/tokio) and issue 4's targets.

  -r ROUNDS    runs of each workload on each side (default 5)
  -w WORKLOAD  run only this one: ${WORKLOADS[*]}
  -n N         the size of every run (default: each workload's own)
  -h           show this help
USAGE
}

# A field of lscpu's, as `lscpu` prints it ("CPU family", "Model", ...).
cpu_field() {
    lscpu 2>/dev/null | awk -F: -v key="$1" '$1 == key {gsub(/^ +/, "", $2); print $2; exit}'
}

die() {
    echo "compare.sh: $*" >&2
    exit 1
}

rounds=5
only=""
size=""
while getopts ":r:w:n:h" opt; do
    case $opt in
        r) rounds=$OPTARG ;;
        w) only=$OPTARG ;;
        n) size=$OPTARG ;;
        h) usage; exit 0 ;;
        :) usage >&2; die "-$OPTARG needs a value" ;;
        *) usage >&2; die "unknown option -$OPTARG" ;;
    esac
done
shift $((OPTIND - 1))
[[ $# -eq 0 ]] || { usage >&2; die "unexpected argument '$1'"; }
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "-r wants a positive number of rounds, not '$rounds'"
[[ -z $size || $size =~ ^[1-9][0-9_]*$ ]] || die "-n wants a positive number, not '$size'"
if [[ -n $only ]]; then
    [[ " ${WORKLOADS[*]} " == *" $only "* ]] || die "unknown workload '$only' (one of: ${WORKLOADS[*]})"
    WORKLOADS=("$only")
fi

# The repository's root; shared/ sits beside it.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
peer_manifest=../shared/peers/tokio/Cargo.toml
[[ -f $peer_manifest ]] || die "no tokio peer at $peer_manifest (shared/ must be next to the repository)"

echo "== building coos and the tokio peer" >&2
cargo build --release --quiet || die "cargo build --release failed"
CARGO_TARGET_DIR=target/peers cargo build --release --quiet --manifest-path "$peer_manifest" ||
    die "building the tokio peer failed"
coos=target/release/coos
tokio=target/peers/release/tokio-bench

mkdir -p target/bench
log=target/bench/compare-$(date +%Y%m%d-%H%M%S).log
results=$(mktemp)
trap 'rm -f "$results"' EXIT

# stat_ticks PID FIELD...: the sum of these fields of /proc/PID/stat
# (14 utime, 15 stime, 16 cutime, 17 cstime: CPU time in clock ticks).
# The fields are counted after the command name, which may hold spaces.
stat_ticks() {
    local pid=$1 stat sum=0 f fields
    shift
    stat=$(<"/proc/$pid/stat")
    read -ra fields <<<"${stat##*) }"
    for f in "$@"; do
        sum=$((sum + fields[f - 3]))
    done
    echo "$sum"
}

# httpd SIDE SERVER...: the network workload. Starts SERVER (with an
# address to serve appended) on CPU 0, loads it from CPU 1 with
# `wrk -t1 -c50 -d5s` once it answers, stops it, and prints a result line
# like the other workloads' (check= is the count of socket errors and
# non-2xx answers, which must be 0). One server alive at a time.
#
# The line also gives the CPU the server and wrk used during the run, in
# percent of its length: server_cpu= near 100 says the server was the
# bottleneck, wrk_cpu= near 100 that the load generator was, and then
# req_per_s= understates the server. The server's time is its own
# utime+stime; wrk's is what this shell's waited-for children
# (cutime+cstime) gained while wrk ran, wrk being the only one.
httpd() {
    local side=$1 port out rps errors bad pid hz t0 t1 server0 server1 wrk0 wrk1 attempt
    # This shell (not a $(...) one, as it would be if read in there).
    local shell=$BASHPID
    shift
    # A port below the host's ephemeral range: in it, wrk's connections
    # of the run before may still hold the port, and the server's bind
    # fails (it did, once in five rounds). A server that ends before it
    # answers is tried again on another port.
    local low
    low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    for attempt in 1 2 3; do
        port=$((10000 + RANDOM % (low - 10000)))
        taskset -c 0 "$@" "127.0.0.1:$port" >/dev/null 2>&1 &
        pid=$!
        for _ in $(seq 100); do
            (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        kill -0 "$pid" 2>/dev/null && break
        wait "$pid" 2>/dev/null
        echo "compare.sh: $side's httpd ended before it answered on port $port (attempt $attempt)" >&2
    done
    kill -0 "$pid" 2>/dev/null || return 1
    hz=$(getconf CLK_TCK)
    server0=$(stat_ticks "$pid" 14 15)
    wrk0=$(stat_ticks "$shell" 16 17)
    t0=$(date +%s%N)
    out=$(taskset -c 1 wrk -t1 -c50 -d5s "http://127.0.0.1:$port/" 2>&1) || true
    t1=$(date +%s%N)
    server1=$(stat_ticks "$pid" 14 15) || server1=$server0
    wrk1=$(stat_ticks "$shell" 16 17)
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    errors=$(awk '/Socket errors:/ {n = 0; for (i = 3; i <= NF; i++) n += $i + 0; print n}' <<<"$out")
    bad=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$out")
    if [[ -z $rps || $((${errors:-0} + ${bad:-0})) -ne 0 ]]; then
        echo "compare.sh: wrk against $side's httpd: no result, or errors:" >&2
        echo "$out" >&2
        return 1
    fi
    # ticks * 100 / (hz * seconds), the seconds in ns.
    local per=$((hz * (t1 - t0)))
    echo "bench=httpd n=5s req_per_s=$rps check=0" \
        "server_cpu=$(((server1 - server0) * 100 * 1000000000 / per))" \
        "wrk_cpu=$(((wrk1 - wrk0) * 100 * 1000000000 / per))"
}

# run SIDE WORKLOAD COMMAND...: runs one benchmark, checks that it gave a
# result line, and records "workload side line" in $results.
run() {
    local side=$1 workload=$2 out err status line
    shift 2
    err=$(mktemp)
    status=0
    out=$("$@" 2>"$err") || status=$?
    line=$(grep '^bench=' <<<"$out" | tail -n 1 || true)
    if [[ $status -ne 0 || -z $line || $line != *" check="* ]]; then
        echo "compare.sh: '$*' failed (exit status $status)" >&2
        [[ -n $out ]] && echo "  stdout: $out" >&2
        sed 's/^/  stderr: /' "$err" >&2
        rm -f "$err"
        exit 1
    fi
    rm -f "$err"
    echo "$side $line" >>"$log"
    echo "$workload $side $line" >>"$results"
    printf '   %-12s %s\n' "$side" "$line" >&2
}

{
    echo "# compare.sh $(date -u +%Y-%m-%dT%H:%M:%SZ) rounds=$rounds"
    echo "# commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- 2>/dev/null || echo ' (with uncommitted changes)')"
    hv=$(cpu_field 'Hypervisor vendor')
    echo "# cpu: $(cpu_field 'Model name'), family $(cpu_field 'CPU family'), model $(cpu_field 'Model'), $(nproc) cpus${hv:+, a $hv guest}; clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo unknown); load:$(uptime | sed 's/.*load average://')"
} >"$log"

nargs=()
[[ -n $size ]] && nargs=(--n "$size")
if [[ " ${WORKLOADS[*]} " == *" httpd "* ]] && ! { command -v wrk && command -v taskset; } >/dev/null; then
    echo "compare.sh: skipping httpd: it needs wrk and taskset (apt-get install wrk util-linux)" >&2
    WORKLOADS=("${WORKLOADS[@]/httpd/}")
fi
for ((round = 1; round <= rounds; round++)); do
    echo "== round $round of $rounds" >&2
    for w in "${WORKLOADS[@]}"; do
        if [[ -z $w ]]; then
            continue
        elif [[ $w == httpd ]]; then
            run coos "$w" httpd coos "$coos" run httpd
            run tokio "$w" httpd tokio "$tokio" httpd
            continue
        fi
        run coos "$w" "$coos" bench "$w" "${nargs[@]}"
        if [[ $w == pingpong ]]; then
            run tokio-duplex "$w" "$tokio" pingpong-duplex "${nargs[@]}"
            run tokio-mpsc "$w" "$tokio" pingpong "${nargs[@]}"
        else
            run tokio "$w" "$tokio" "$w" "${nargs[@]}"
        fi
    done
done

echo >&2
head -n 3 "$log" | sed 's/^# //'
echo "medians of $rounds runs each; ratio = coos median / tokio median"
echo
# The table. Each row: workload, the metric it is judged by, both medians,
# the ratio, issue 4's target and whether coos meets it.
awk -v order="${WORKLOADS[*]}" '
    function field(line, key,    i, n, kv) {
        n = split(line, kv, " ")
        for (i = 1; i <= n; i++)
            if (index(kv[i], key "=") == 1) return substr(kv[i], length(key) + 2)
        return ""
    }
    function median(key,    n, i, j, t, v) {
        n = count[key]
        for (i = 1; i <= n; i++) v[i] = vals[key, i] + 0
        for (i = 2; i <= n; i++)                # insertion sort: n is small
            for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    function num(x) { return x >= 100 ? sprintf("%.0f", x) : x >= 1 ? sprintf("%.2f", x) : sprintf("%.3f", x) }
    BEGIN {
        metric["spawn"] = "ns_per_op";   target["spawn"] = "<=0.5x"
        metric["yield"] = "ns_per_op";   target["yield"] = "<=0.6x"
        metric["pingpong"] = "ns_per_op"; target["pingpong"] = "<=0.45x"
        metric["ring"] = "ns_per_op";    target["ring"] = "<=0.6x"
        metric["skynet"] = "elapsed_ms"; target["skynet"] = "<=0.25x"
        metric["sleep"] = "late_p99_us"; target["sleep"] = "<=1000us"
        metric["pipe"] = "gb_per_s";     target["pipe"] = ">=1.0x"
        metric["idle"] = "bytes_per_task"; target["idle"] = "<=0.6x"
        metric["httpd"] = "req_per_s";   target["httpd"] = ">=1.2x"
    }
    {
        w = $1; side = $2; line = substr($0, length($1) + length($2) + 3)
        v = field(line, metric[w])
        if (v == "") { print "compare.sh: no " metric[w] "= in: " line > "/dev/stderr"; bad = 1; next }
        k = w SUBSEP side
        vals[k, ++count[k]] = v
        c = field(line, "check")
        if ((w SUBSEP "check") in checks && checks[w, "check"] != c) {
            print "compare.sh: " w ": check=" c " (" side ") differs from check=" checks[w, "check"] > "/dev/stderr"; bad = 1
        }
        checks[w, "check"] = c
        if (w == "httpd") {
            # CPU per request, in microseconds: the percentage of the run the server
            # used, over the requests it answered in a second.
            cpu = field(line, "server_cpu")
            if (cpu != "") vals["httpd-us", side, ++count["httpd-us", side]] = cpu * 1e4 / v
            cpu = field(line, "wrk_cpu")
            if (cpu != "") vals["httpd-wrk", side, ++count["httpd-wrk", side]] = cpu
        }
    }
    END {
        fmt = "%-17s %-15s %12s %12s %8s %9s  %s\n"
        printf fmt, "workload", "metric", "coos", "tokio", "ratio", "target", "met?"
        n = split(order, ws, " ")
        for (i = 1; i <= n; i++) {
            w = ws[i]
            peers = w == "pingpong" ? "tokio-duplex tokio-mpsc" : "tokio"
            np = split(peers, ps, " ")
            for (j = 1; j <= np; j++) {
                c = median(w SUBSEP "coos"); t = median(w SUBSEP ps[j])
                ratio = t > 0 ? c / t : -1
                name = w (ps[j] == "tokio-duplex" ? " (duplex)" : ps[j] == "tokio-mpsc" ? " (mpsc)" : "")
                goal = j == 1 ? target[w] : "-"
                met = "-"
                if (j == 1) {
                    if (w == "sleep") met = c <= 1000 ? "met" : "missed"
                    else if (w == "pipe") met = ratio >= 1.0 ? "met" : "missed"
                    else if (w == "httpd") met = ratio >= 1.2 ? "met" : "missed"
                    else { split(target[w], lim, /[<=x]+/); met = ratio >= 0 && ratio <= lim[2] + 0 ? "met" : "missed" }
                }
                printf fmt, name, metric[w], num(c), num(t), ratio < 0 ? "-" : sprintf("%.2fx", ratio), goal, met
            }
        }
        if (count["httpd-us", "coos"] && count["httpd-us", "tokio"]) {
            # A saturated load generator sets the rate, whichever server is
            # faster: the CPU each server spent on a request tells them apart.
            c = median("httpd-us" SUBSEP "coos"); t = median("httpd-us" SUBSEP "tokio")
            printf "\nhttpd: server CPU per request %.2f us (coos), %.2f us (tokio): %.2fx", c, t, c / t
            busy = median("httpd-wrk" SUBSEP "coos") >= 95
            printf "; wrk at %d%% and %d%% of its CPU%s\n", median("httpd-wrk" SUBSEP "coos"),
                median("httpd-wrk" SUBSEP "tokio"),
                busy ? " (saturated: req/s is the rate of wrk, not of the servers)" : ""
        }
        exit bad
    }
' "$results" || die "the results did not add up (see above)"
echo
echo "result lines: $log"
