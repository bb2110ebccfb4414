#!/usr/bin/env bash
# The results browser in a real browser: makes two runs (one failing with Elle cycles, one
# passing), copies the committed conformance report next to them, starts `aurora-chaos serve` on
# loopback, and loads through it, in headless Chromium, the index, the failing run's page, the
# conformance dashboard and a claim page.
#
#   ci/browser-test.sh [SHOTS_DIR]
#
# For each page it checks the DOM Chromium built (--dump-dom: the index lists the runs and the
# suite; the run page has its outcome, timeline with a nemesis lane, the four plots and a cycle
# picture; the dashboard has its tiles and never says PASS while claims are uncovered) and that
# the screenshot really shows them: enough pixels of the colours only those elements paint
# (nemesis bars, ok bars, fault bands, cycle nodes, pass tiles, the INCOMPLETE banner). PNGs
# are decoded with the Python 3 standard library. Screenshots stay in SHOTS_DIR (default: a new
# temp dir, printed at the end) as CI artifacts. Installs Debian's chromium when missing (root).
# Takes about a minute once built.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "browser-test: FAIL: $*" >&2; exit 1; }

shots=${1:-$(mktemp -d -t aurora-shots.XXXXXX)}
mkdir -p "$shots"
work=$(mktemp -d -t aurora-browser.XXXXXX)
server_pid=
cleanup() {
    if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

if [[ ! -x /usr/bin/chromium ]]; then
    echo "browser-test: installing chromium (Debian package)" >&2
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; } \
        || die "could not install chromium with apt-get"
fi

cargo build --release -q --bin aurora-chaos
bin=target/release/aurora-chaos
root=$work/results
mkdir -p "$root/runs"

# A failing run whose Elle checker finds cycles: the writer at snapshot isolation lets write skew
# through (G2-item), which the strict-serializable check must report and draw.
set +e
"$bin" run --workload list-append --seed 1 --time-limit 30 --nemesis kill-storage --isolation snapshot \
    --out "$root/runs/list-append-bug/1-0" >"$work/run1.log" 2>&1
rc=$?
set -e
[[ $rc -eq 1 ]] || { tail -n 20 "$work/run1.log" >&2; die "the bug run exited $rc, not 1"; }
"$bin" run --workload bank --seed 1 --time-limit 20 --out "$root/runs/bank-all/1-0" \
    >"$work/run2.log" 2>&1 || { tail -n 20 "$work/run2.log" >&2; die "the passing run failed"; }
cp -r results/conformance "$root/conformance"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" serve "$root" --port "$port" >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
    sleep 0.2
done
base=http://127.0.0.1:$port

profile=$work/profile
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
       --disable-background-networking --disable-component-update --disable-sync
       --disable-dev-shm-usage --hide-scrollbars --force-device-scale-factor=0.5)

# load NAME URL HEIGHT: DOM to $work/NAME.html, screenshot to $shots/NAME.png.
load() {
    rm -rf "$profile"
    timeout 90 /usr/bin/chromium "${flags[@]}" --user-data-dir="$profile" --dump-dom "$2" \
        >"$work/$1.html" 2>"$work/$1.log" || { tail "$work/$1.log" >&2; die "dump-dom $2"; }
    rm -rf "$profile"
    timeout 90 /usr/bin/chromium "${flags[@]}" --user-data-dir="$profile" --window-size=1300,"$3" \
        --screenshot="$shots/$1.png" "$2" >>"$work/$1.log" 2>&1 || { tail "$work/$1.log" >&2; die "screenshot $2"; }
    [[ -s $shots/$1.png ]] || die "no screenshot of $2"
}
load index "$base/" 1200
load run "$base/files/runs/list-append-bug/1-0/report.html" 9000
load dashboard "$base/files/conformance/report.html" 2600
load claim "$base/files/conformance/claims/C13.html" 3600

python3 - "$work" "$shots" <<'PYEOF'
"""DOM and pixel checks, standard library only."""
import re, struct, sys, zlib
from collections import Counter

work, shots = sys.argv[1:3]
failures = []

def check(cond, msg):
    print(("  ok   " if cond else "  FAIL ") + msg)
    if not cond:
        failures.append(msg)

def decode_png(path):
    data = open(path, "rb").read()
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", data[pos + 8:pos + 8 + n])
        elif kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + n]
        pos += 12 + n
    w, h, depth, ctype, _, _, _ = hdr
    ch = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    raw, stride = zlib.decompress(idat), w * ch
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(h):
        f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        if f == 1:
            for x in range(ch, stride): line[x] = (line[x] + line[x - ch]) & 255
        elif f == 2:
            for x in range(stride): line[x] = (line[x] + prev[x]) & 255
        elif f == 3:
            for x in range(stride):
                a = line[x - ch] if x >= ch else 0
                line[x] = (line[x] + (a + prev[x]) // 2) & 255
        elif f == 4:
            for x in range(stride):
                a = line[x - ch] if x >= ch else 0
                b, c = prev[x], (prev[x - ch] if x >= ch else 0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, ch, rows

def colours(name, wanted, tol=6):
    """Counts pixels within `tol` of each wanted colour; also the share of non-white pixels."""
    w, h, ch, rows = decode_png(f"{shots}/{name}.png")
    freq = Counter()
    for r in rows:
        freq.update(zip(r[0::ch], r[1::ch], r[2::ch]))
    counts = {k: sum(n for px, n in freq.items()
                     if all(abs(px[i] - c[i]) <= tol for i in range(3))) for k, c in wanted.items()}
    ink = sum(n for px, n in freq.items() if min(px) < 235)
    return w, h, counts, ink / (w * h)

def dom(name):
    return open(f"{work}/{name}.html", encoding="utf-8", errors="replace").read()

print("index (aurora-chaos serve /):")
d = dom("index")
rows = re.findall(r'<tr class="(run|suite|soak)">', d)
check(rows.count("run") == 2 and rows.count("suite") == 1, f"lists 2 runs and 1 suite report (got {rows})")
check('href="/files/runs/list-append-bug/1-0/report.html"' in d, "links the failing run's page")
check(">violation<" in d and ">pass<" in d, "shows both outcomes")
check("sort=seed" in d and 'name="q"' in d, "sortable headers and a filter form")

print("run page:")
d = dom("run")
check('id="outcome">VIOLATION' in d, "outcome VIOLATION")
check('id="repro"' in d and "--isolation snapshot" in d, "repro command")
check('<svg class="timeline"' in d and '<rect class="nem"' in d, "timeline with a nemesis lane")
check("invoke " in d and " → ok " in d, "op hover shows invocation and completion")
for fig in ["fig-latency-raw", "fig-latency-quantiles", "fig-rate"]:
    m = re.search(f'id="{fig}">\\s*<svg', d)
    check(m is not None, f"{fig} plot present")
check(len(re.findall(r'<svg class="cycle"', d)) >= 1, "an Elle cycle picture")
w, h, c, ink = colours("run", {
    "nemesis bars": (147, 99, 187), "ok bars": (76, 174, 76), "fault bands": (225, 229, 245),
    "cycle nodes": (232, 241, 251), "ww edges": (31, 119, 180), "latency dots": (86, 179, 86)})
print(f"  {w}x{h} screenshot, {100 * ink:.1f}% non-white, colour pixels {c}")
check(ink > 0.03, "screenshot is not blank")
for k, n in c.items():
    check(n >= 20, f"{k} rendered ({n} px)")

print("conformance dashboard:")
d = dom("dashboard")
tiles = re.findall(r'<a class="tile (\w+)"', d)
import json  # the claim count comes from the committed report
claims = len(json.load(open("results/conformance/report.json"))["rows"])
check(len(tiles) == claims, f"{claims} claim tiles, one per claim of report.json (got {len(tiles)})")
m = re.search(r'id="overall">(\w+)', d)
overall = m.group(1) if m else None
if all(t == "pass" for t in tiles):
    check(overall == "PASS", f"overall status PASS with every claim passing (got {overall})")
else:
    check(overall in ("INCOMPLETE", "FAIL"),
          f"overall status {overall} is not PASS while {sum(t != 'pass' for t in tiles)} claims do not pass")
check(d.count('<svg class="gauge"') == tiles.count("pass") + tiles.count("fail") + tiles.count("vac"),
      "a gauge per covered claim")
# The banner and the uncovered tiles are expected exactly when some claim is not covered.
expect = {"pass tiles": (42, 157, 42)}
if "nc" in tiles:
    expect.update({"incomplete banner": (240, 215, 140), "uncovered tiles": (243, 240, 228)})
w, h, c, ink = colours("dashboard", dict(expect, **{"incomplete banner": (240, 215, 140),
                                                    "uncovered tiles": (243, 240, 228)}))
print(f"  {w}x{h} screenshot, {100 * ink:.1f}% non-white, colour pixels {c}")
for k, n in c.items():
    if k in expect:
        check(n >= 200, f"{k} rendered ({n} px)")
    else:
        check(n < 200, f"no {k} while every claim is covered ({n} px)")

print("claim page C13:")
d = dom("claim")
check(d.count("<svg") == 5, f"gauge + 4 plots (got {d.count('<svg')})")
w, h, c, ink = colours("claim", {"ok bars": (76, 174, 76), "fault bands": (225, 229, 245)})
print(f"  {w}x{h} screenshot, {100 * ink:.1f}% non-white, colour pixels {c}")
for k, n in c.items():
    check(n >= 20, f"{k} rendered ({n} px)")

if failures:
    print(f"browser-test: FAIL: {len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
PYEOF
echo "browser-test: OK; screenshots in $shots"
