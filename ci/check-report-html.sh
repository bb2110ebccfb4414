#!/usr/bin/env bash
# Renders a report page in headless Chromium and fails if the page breaks.
#
#   ci/check-report-html.sh FILE.html [OUT.png]
#
# Fails (non-zero, with a message on stderr) when: chromium cannot be installed or exits non-zero;
# the page logs to the browser console or hits a net:: error; the PNG is missing; the PNG is blank (too few distinct colours or non-white pixels, decided by a
# Python 3 stdlib-only PNG decoder); or the DOM chromium built lost the page's content (no summary
# table, fewer <svg> elements than the file holds). Installs Debian's chromium when
# /usr/bin/chromium is missing (needs root, as on CI). Every chromium call is time-limited.
# Takes about 25 s with chromium installed, about 2 min when it must be installed first.
#
# Works on any page this project writes: the conformance dashboard (results/conformance/report.html),
# a claim page (results/conformance/claims/C1.html) or a run's report.html. ci/browser-test.sh checks
# the pages' content (tiles, timeline, plots, anomaly pictures) through `aurora-chaos serve`.
set -euo pipefail

die() { echo "check-report-html: FAIL: $*" >&2; exit 1; }

[[ $# -ge 1 && $# -le 2 ]] || die "usage: $0 FILE.html [OUT.png]"
html=$(realpath -e "$1" 2>/dev/null) || die "no such file: $1"
png=${2:-${html%.html}.png}
png=$(realpath -m "$png")
start=$SECONDS

if [[ ! -x /usr/bin/chromium ]]; then
    echo "check-report-html: installing chromium (Debian package)" >&2
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; } \
        || die "could not install chromium with apt-get"
fi
[[ -x /usr/bin/chromium ]] || die "/usr/bin/chromium missing after install"

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
       --disable-background-networking --disable-component-update --disable-sync
       --disable-dev-shm-usage --hide-scrollbars --user-data-dir="$profile")

url=$(python3 -c 'import pathlib, sys; print(pathlib.Path(sys.argv[1]).as_uri())' "$html")
rm -f "$png"
if ! timeout 60 /usr/bin/chromium "${flags[@]}" --screenshot="$png" --window-size=1400,4000 \
        "$url" >"$profile/shot.log" 2>&1; then
    tail -n 20 "$profile/shot.log" >&2
    die "chromium --screenshot failed"
fi
[[ -s $png ]] || { tail -n 20 "$profile/shot.log" >&2; die "no screenshot written to $png"; }

timeout 60 /usr/bin/chromium "${flags[@]}" --enable-logging=stderr --log-level=0 --dump-dom "$url" \
    >"$profile/dom.html" 2>"$profile/dom.log" || { tail -n 20 "$profile/dom.log" >&2; die "chromium --dump-dom failed"; }
# The report has no script, so anything on the console is an error (an uncaught exception, a
# blocked resource); a net:: error means the page tried to load something.
if grep -E ':CONSOLE|net::ERR_' "$profile/dom.log" >&2; then
    die "the page logged errors in the browser (above)"
fi

python3 - "$png" "$html" "$profile/dom.html" <<'EOF'
"""Blank-page and lost-content checks, standard library only."""
import struct, sys, zlib

def fail(msg):
    print(f"check-report-html: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)

def decode_png(path):
    """Returns (width, height, rows of RGB(A) bytes); 8-bit RGB/RGBA/grey, non-interlaced."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path} is not a PNG")
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    if hdr is None:
        fail("PNG without IHDR")
    w, h, depth, ctype, _, _, interlace = hdr
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(ctype)
    if depth != 8 or channels is None or interlace:
        fail(f"unsupported PNG format (depth {depth}, colour type {ctype}, interlace {interlace})")
    raw, bpp, stride = zlib.decompress(idat), channels, w * channels
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(h):
        f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1: line[x] = (line[x] + a) & 255
            elif f == 2: line[x] = (line[x] + b) & 255
            elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, channels, rows

png, html, dom = sys.argv[1:4]
w, h, ch, rows = decode_png(png)
colours, ink, step = set(), 0, 2  # every other pixel and row: fast enough, still thorough
for y in range(0, h, step):
    r = rows[y]
    for x in range(0, w, step):
        px = r[x * ch:x * ch + min(ch, 3)]
        colours.add(px)
        if min(px) < 235:
            ink += 1
sampled = ((h + step - 1) // step) * ((w + step - 1) // step)
print(f"check-report-html: {w}x{h} screenshot, {len(colours)} distinct colours, "
      f"{100 * ink / sampled:.1f}% non-white")
if len(colours) < 8 or ink < sampled * 0.005:
    fail("page renders blank")

src, out = open(html, encoding="utf-8").read(), open(dom, encoding="utf-8", errors="replace").read()
want_svg = src.count("<svg")
got_svg = out.count("<svg")
if len(out) < 0.5 * len(src):
    fail(f"dumped DOM is {len(out)} bytes, the page {len(src)}: content lost")
if "<table" in src and "<table" not in out:
    fail("summary table missing from the rendered DOM")
if got_svg < want_svg:
    fail(f"rendered DOM has {got_svg} <svg> elements, the page {want_svg}")
print(f"check-report-html: DOM ok ({got_svg} svg, {len(out)} bytes)")
EOF
echo "check-report-html: OK: $html -> $png ($((SECONDS - start)) s)"
