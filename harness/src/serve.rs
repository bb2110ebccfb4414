//! `aurora-chaos serve [results/]`: a small local web server (std only, one thread, bound to
//! 127.0.0.1 by default) for browsing results, like Jepsen's `lein run serve`.
//!
//! Routes (GET only):
//! - `/` : every run (a directory holding `results.json`) and every suite report (a directory
//!   holding a conformance `report.json`) and soak summary (`soak-*.json`) under the root, with
//!   outcome, workload, faults, seed and date; sortable (`?sort=seed&desc=1`) and filterable
//!   (`?q=text`, `?outcome=violation`) through links and a form, no script; newest first by default.
//! - `/files/<path>` : a file under the root (raw files, pages written by `run` and `suite`).
//! - `/page/<dir>` : a run's page built on the fly from its files (runs without `report.html`).
//! - `/soak/<file>` : a soak summary as a page (outcomes by seed, fault coverage).
//!
//! Paths are resolved inside the root only (no `..`, no absolute paths, symlinks must stay inside).
//! Listing order is fully determined by the sort key, then the path (no hash-map order).

use crate::outcome::Outcome;
use report::text::escape_html as esc;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};

/// One listed item (a run, a suite report or a soak summary).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// `run`, `suite` or `soak`.
    pub kind: &'static str,
    /// Directory (or file, for soak summaries) relative to the root, `/`-separated.
    pub path: String,
    pub outcome: String,
    pub workload: String,
    pub faults: String,
    pub seed: String,
    /// Modification time of the results file, `YYYY-MM-DD HH:MM` UTC.
    pub date: String,
    /// The page to open.
    pub href: String,
}

fn date_of(path: &Path) -> String {
    let secs = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Every run, suite report and soak summary under `root` (depth ≤ 6, symlinked directories not
/// followed, so `latest` is not listed twice), sorted by path.
pub fn scan(root: &Path) -> Vec<Entry> {
    let mut out = Vec::new();
    walk(root, root, 0, &mut out);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn walk(root: &Path, dir: &Path, depth: usize, out: &mut Vec<Entry>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut children: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    let results = dir.join("results.json");
    if results.is_file() {
        if let Some(e) = run_entry(root, dir, &results) {
            out.push(e);
        }
    }
    let report = dir.join("report.json");
    if report.is_file() {
        if let Some(e) = suite_entry(root, dir, &report) {
            out.push(e);
        }
    }
    for c in children {
        let is_link = std::fs::symlink_metadata(&c).is_ok_and(|m| m.file_type().is_symlink());
        if c.is_dir() && !is_link && depth < 6 {
            walk(root, &c, depth + 1, out);
        } else if c.is_file()
            && c.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.starts_with("soak-") && n.ends_with(".json")
            })
        {
            if let Some(e) = soak_entry(root, &c) {
                out.push(e);
            }
        }
    }
}

fn read_json(path: &Path) -> Option<serde_json::Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn run_entry(root: &Path, dir: &Path, results: &Path) -> Option<Entry> {
    let v = read_json(results)?;
    let path = rel(root, dir);
    let faults = v["config"]["nemesis"]
        .as_array()
        .map(|a| {
            if a.is_empty() {
                "none".to_string()
            } else {
                a.iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            }
        })
        .unwrap_or_default();
    let href = if dir.join("report.html").is_file() {
        format!("/files/{path}/report.html")
    } else {
        format!("/page/{path}")
    };
    // A real-target run keeps its parameters in config.json (and is not replayable by seed).
    let target = read_json(&dir.join("config.json")).filter(|c| c["replayable"] == false);
    let (workload, faults, seed) = match &target {
        Some(c) => (
            format!(
                "{} on {} {} {}",
                c["workload"].as_str().unwrap_or("?"),
                c["engine"].as_str().unwrap_or("?"),
                c["replication"].as_str().unwrap_or("?"),
                c["isolation"].as_str().unwrap_or("?")
            ),
            c["nemesis"].as_array().map_or(String::new(), |a| {
                a.iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            }),
            format!("{} (real, not replayable)", c["seed"]),
        ),
        None => (
            v["config"]["workload"]["kind"]
                .as_str()
                .unwrap_or("?")
                .to_string(),
            faults,
            v["seed"].as_u64().map_or("?".into(), |s| s.to_string()),
        ),
    };
    Some(Entry {
        kind: "run",
        outcome: v["outcome"].as_str().unwrap_or("?").to_string(),
        workload,
        faults,
        seed,
        date: date_of(results),
        href,
        path,
    })
}

fn suite_entry(root: &Path, dir: &Path, report_json: &Path) -> Option<Entry> {
    let c = report::Conformance::from_json(&std::fs::read_to_string(report_json).ok()?).ok()?;
    let path = rel(root, dir);
    let seeds: Vec<u64> = c
        .rows
        .iter()
        .filter_map(|r| r.scenario.as_ref())
        .flat_map(|s| s.seeds.iter().copied())
        .collect::<std::collections::BTreeSet<u64>>()
        .into_iter()
        .collect();
    Some(Entry {
        kind: "suite",
        outcome: c.overall_line(),
        workload: "conformance suite".into(),
        faults: format!("{} claims", c.summary.claims),
        seed: report::text::seeds_text(&seeds),
        date: date_of(report_json),
        href: format!("/files/{path}/report.html"),
        path,
    })
}

fn soak_entry(root: &Path, file: &Path) -> Option<Entry> {
    let v = read_json(file)?;
    let rows = v["rows"].as_array()?;
    let failed = rows.iter().filter(|r| r["outcome"] != "pass").count();
    let path = rel(root, file);
    Some(Entry {
        kind: "soak",
        outcome: format!("{failed} of {} seeds failed", rows.len()),
        workload: v["workload"].as_str().unwrap_or("?").to_string(),
        faults: v["allowed"].as_array().map_or(String::new(), |a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(",")
        }),
        seed: v["seeds"].as_str().unwrap_or("?").to_string(),
        date: date_of(file),
        href: format!("/soak/{path}"),
        path,
    })
}

/// Query parameters of a request target, percent-decoded (`+` is a space).
fn query(target: &str) -> Vec<(String, String)> {
    let Some((_, q)) = target.split_once('?') else {
        return Vec::new();
    };
    q.split('&')
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}

/// Percent-decoding; `None` on a malformed escape or invalid UTF-8.
pub fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Sorts and filters entries as the index's parameters say.
pub fn select(mut entries: Vec<Entry>, params: &[(String, String)]) -> Vec<Entry> {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if let Some(q) = get("q").filter(|q| !q.is_empty()) {
        let q = q.to_lowercase();
        entries.retain(|e| {
            [
                &e.path,
                &e.outcome,
                &e.workload,
                &e.faults,
                &e.seed,
                &e.date,
            ]
            .iter()
            .any(|f| f.to_lowercase().contains(&q))
        });
    }
    if let Some(o) = get("outcome").filter(|o| !o.is_empty()) {
        entries.retain(|e| e.outcome == o || (e.kind != "run" && o == "any"));
    }
    let key = get("sort").unwrap_or("date");
    let num = |s: &str| s.parse::<u64>().unwrap_or(u64::MAX);
    entries.sort_by(|a, b| {
        let ord = match key {
            "seed" => num(&a.seed).cmp(&num(&b.seed)),
            "outcome" => a.outcome.cmp(&b.outcome),
            "workload" => a.workload.cmp(&b.workload),
            "faults" => a.faults.cmp(&b.faults),
            "kind" => a.kind.cmp(b.kind),
            "path" => std::cmp::Ordering::Equal,
            _ => a.date.cmp(&b.date),
        };
        ord.then_with(|| a.path.cmp(&b.path))
    });
    // Newest first unless a sort order was asked for.
    if get("desc").is_some_and(|d| d == "1") || get("sort").is_none() {
        entries.reverse();
    }
    entries
}

/// The index page for `entries` (already selected) and the request's parameters.
pub fn index_page(root: &Path, entries: &[Entry], params: &[(String, String)]) -> String {
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map_or("", |(_, v)| v.as_str())
    };
    let (sort, desc, q, outcome) = (get("sort"), get("desc") == "1", get("q"), get("outcome"));
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    let mut s = format!(
        "<h1>aurora-chaos results</h1>\n<p class=\"meta\">{} items under <code>{}</code>.</p>\n\
         <form method=\"get\" action=\"/\"><input type=\"hidden\" name=\"sort\" value=\"{}\">\
         filter <input name=\"q\" value=\"{}\"> outcome <select name=\"outcome\">",
        entries.len(),
        esc(&root.display().to_string()),
        esc(sort),
        esc(q)
    );
    for o in [
        "",
        "pass",
        "violation",
        "unknown",
        "liveness",
        "harness-crash",
    ] {
        s.push_str(&format!(
            "<option value=\"{o}\"{}>{}</option>",
            if o == outcome { " selected" } else { "" },
            if o.is_empty() { "any" } else { o }
        ));
    }
    s.push_str("</select> <button type=\"submit\">apply</button></form>\n<table id=\"runs\"><tr>");
    for (key, label) in [
        ("kind", "kind"),
        ("path", "path"),
        ("outcome", "outcome"),
        ("workload", "workload"),
        ("faults", "faults"),
        ("seed", "seed"),
        ("date", "date"),
    ] {
        let d = if sort == key && !desc {
            "&amp;desc=1"
        } else {
            ""
        };
        let arrow = match (sort == key, desc) {
            (true, false) => " ▲",
            (true, true) => " ▼",
            _ => "",
        };
        s.push_str(&format!(
            "<th><a href=\"/?sort={key}{d}&amp;q={}&amp;outcome={}\">{label}</a>{arrow}</th>",
            enc(q),
            enc(outcome)
        ));
    }
    s.push_str("<th>files</th></tr>\n");
    for e in entries {
        let class = match e.outcome.as_str() {
            "pass" => "valid",
            o if o.starts_with("PASS") || o.starts_with("0 of") => "valid",
            "unknown" | "liveness" => "unknown",
            o if o.starts_with("INCOMPLETE") => "unknown",
            _ => "invalid",
        };
        let files = match e.kind {
            "run" => ["results.json", "history.edn", "schedule.json"]
                .iter()
                .map(|f| format!("<a href=\"/files/{}/{f}\">{f}</a>", esc(&e.path)))
                .collect::<Vec<_>>()
                .join(" "),
            "suite" => ["REPORT.md", "report.json"]
                .iter()
                .map(|f| format!("<a href=\"/files/{}/{f}\">{f}</a>", esc(&e.path)))
                .collect::<Vec<_>>()
                .join(" "),
            _ => format!("<a href=\"/files/{}\">json</a>", esc(&e.path)),
        };
        s.push_str(&format!(
            "<tr class=\"{}\"><td>{}</td><td><a href=\"{}\">{}</a></td><td class=\"{class}\">{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{files}</td></tr>\n",
            e.kind,
            e.kind,
            esc(&e.href),
            esc(&e.path),
            esc(&e.outcome),
            esc(&e.workload),
            esc(&report::text::shorten(&e.faults, 80)),
            esc(&e.seed),
            esc(&e.date)
        ));
    }
    s.push_str("</table>\n");
    report::html::page("aurora-chaos results", "", &s)
}

/// A soak summary file as a page: outcomes by seed and a fault-kind coverage table (how many
/// seeds had each kind on, and how many of those failed).
pub fn soak_page(path: &str, v: &serde_json::Value) -> String {
    let rows = v["rows"].as_array().cloned().unwrap_or_default();
    let mut s = format!(
        "<nav><a href=\"/\">all results</a></nav>\n<h1>soak {}</h1>\n<p class=\"meta\">workload {}, \
         seeds {}; {} seeds run.</p>\n<h2>Outcomes by seed</h2>\n<table id=\"seeds\"><tr><th>seed\
         </th><th>faults on</th><th>ops</th><th>outcome</th><th>run</th></tr>\n",
        esc(path),
        esc(v["workload"].as_str().unwrap_or("?")),
        esc(v["seeds"].as_str().unwrap_or("?")),
        rows.len()
    );
    let mut kinds: Vec<String> = Vec::new();
    let mut cover: Vec<(usize, usize)> = Vec::new();
    for r in &rows {
        let outcome = r["outcome"].as_str().unwrap_or("?");
        let on: Vec<String> = r["faults"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        for k in &on {
            let i = kinds.iter().position(|x| x == k).unwrap_or_else(|| {
                kinds.push(k.clone());
                cover.push((0, 0));
                kinds.len() - 1
            });
            cover[i].0 += 1;
            if outcome != "pass" {
                cover[i].1 += 1;
            }
        }
        // `dir` is relative to the summary's own directory.
        let parent = path.rsplit_once('/').map_or("", |(p, _)| p);
        let dir = match r["dir"].as_str().unwrap_or("") {
            "" => String::new(),
            d if parent.is_empty() => d.to_string(),
            d => format!("{parent}/{d}"),
        };
        let class = if outcome == "pass" {
            "valid"
        } else {
            "invalid"
        };
        s.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{}</td><td><a href=\"/page/{}\">page</a></td></tr>\n",
            r["seed"],
            esc(&on.join(", ")),
            r["ops"],
            esc(outcome),
            esc(&dir)
        ));
    }
    s.push_str("</table>\n<h2>Fault coverage</h2>\n<table id=\"coverage\"><tr><th>fault kind</th><th>seeds with it on</th><th>of those failed</th></tr>\n");
    let mut order: Vec<usize> = (0..kinds.len()).collect();
    order.sort_by(|&a, &b| kinds[a].cmp(&kinds[b]));
    for i in order {
        s.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&kinds[i]),
            cover[i].0,
            cover[i].1
        ));
    }
    s.push_str("</table>\n");
    report::html::page(&format!("soak {path}"), "", &s)
}

/// `rel` resolved under `root`, or `None` when it would leave it (`..`, absolute, a symlink out).
pub fn resolve(root: &Path, rel: &str) -> Option<PathBuf> {
    let rel = Path::new(rel.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let root = root.canonicalize().ok()?;
    let p = root.join(rel).canonicalize().ok()?;
    p.starts_with(&root).then_some(p)
}

fn content_type(p: &Path) -> &'static str {
    match p.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "json" => "application/json",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        _ => "text/plain; charset=utf-8",
    }
}

/// Answers one request target: (status, content type, body).
pub fn respond(root: &Path, target: &str) -> (u16, &'static str, Vec<u8>) {
    let path = target.split('?').next().unwrap_or("/");
    let Some(path) = decode(path) else {
        return (
            400,
            "text/plain; charset=utf-8",
            b"bad escape in path".to_vec(),
        );
    };
    let not_found = || {
        (
            404,
            "text/plain; charset=utf-8",
            format!("not found: {path}").into_bytes(),
        )
    };
    if path == "/" || path == "/index.html" {
        let params = query(target);
        let entries = select(scan(root), &params);
        return (
            200,
            "text/html; charset=utf-8",
            index_page(root, &entries, &params).into_bytes(),
        );
    }
    if let Some(rest) = path.strip_prefix("/files/") {
        return match resolve(root, rest) {
            Some(p) if p.is_file() => match std::fs::read(&p) {
                Ok(b) => (200, content_type(&p), b),
                Err(_) => not_found(),
            },
            Some(p) if p.is_dir() => match resolve(root, &format!("{rest}/report.html")) {
                Some(page) => (
                    200,
                    "text/html; charset=utf-8",
                    std::fs::read(page).unwrap_or_default(),
                ),
                None => not_found(),
            },
            _ => not_found(),
        };
    }
    if let Some(rest) = path.strip_prefix("/page/") {
        return match resolve(root, rest) {
            Some(dir) if dir.is_dir() => match crate::run_page::page_for_dir(&dir) {
                Ok(html) => (200, "text/html; charset=utf-8", html.into_bytes()),
                Err(e) => (
                    500,
                    "text/plain; charset=utf-8",
                    format!("{e:#}").into_bytes(),
                ),
            },
            _ => not_found(),
        };
    }
    if let Some(rest) = path.strip_prefix("/soak/") {
        return match resolve(root, rest).and_then(|p| read_json(&p)) {
            Some(v) => (
                200,
                "text/html; charset=utf-8",
                soak_page(rest, &v).into_bytes(),
            ),
            None => not_found(),
        };
    }
    not_found()
}

fn handle(root: &Path, stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    // Pages link run pages as `/files/<dir>/report.html`; inside them, links to the run's own
    // files are relative and so resolve under `/files/<dir>/` too.
    let (status, ctype, body) = if method == "GET" || method == "HEAD" {
        respond(root, target)
    } else {
        (405, "text/plain; charset=utf-8", b"only GET".to_vec())
    };
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Internal Server Error",
    };
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if method != "HEAD" {
        out.write_all(&body)?;
    }
    out.flush()
}

/// Serves `root` on `bind:port` until killed. Bad root or a busy port: an error and exit code 2.
pub fn serve(root: &Path, bind: &str, port: u16) -> Outcome {
    if !root.is_dir() {
        eprintln!("error: serve: {} is not a directory", root.display());
        return Outcome::BadInput;
    }
    let listener = match TcpListener::bind((bind, port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: serve: cannot listen on {bind}:{port}: {e}");
            return Outcome::BadInput;
        }
    };
    let addr = listener
        .local_addr()
        .map_or(format!("{bind}:{port}"), |a| a.to_string());
    println!(
        "serving {} at http://{addr}/ (Ctrl-C to stop)",
        root.display()
    );
    serve_on(root, listener);
    Outcome::Pass
}

/// Answers requests on `listener` forever, one at a time (tests bind port 0 and call this on a
/// thread).
pub fn serve_on(root: &Path, listener: TcpListener) {
    for stream in listener.incoming() {
        match stream {
            Ok(s) => {
                if let Err(e) = handle(root, s) {
                    eprintln!("serve: {e}");
                }
            }
            Err(e) => eprintln!("serve: {e}"),
        }
    }
}
