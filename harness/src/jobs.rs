//! Sharding and local parallelism. A shard `K/N` takes every N-th unit of work starting at the K-th
//! (0-based), so N shards partition the work exactly. `--jobs N` runs N child processes of this very
//! binary, each with `--shard K/N`, and concatenates their JSON lines in shard order: no threads ever
//! run inside a simulation. Kubernetes Indexed Jobs name the shard through `JOB_COMPLETION_INDEX`
//! and `JOB_COMPLETIONS`, which [`shard_from_env`] reads.

use anyhow::{bail, Context};
use std::process::{Command, Stdio};

/// Parses `K/N` with `K < N`.
pub fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (k, n) = s
        .split_once('/')
        .ok_or_else(|| format!("expected K/N (e.g. 0/4), got `{s}`"))?;
    let k: usize = k.trim().parse().map_err(|e| format!("`{k}`: {e}"))?;
    let n: usize = n.trim().parse().map_err(|e| format!("`{n}`: {e}"))?;
    if n == 0 || k >= n {
        return Err(format!("shard {k}/{n}: need 0 <= K < N"));
    }
    Ok((k, n))
}

/// The Kubernetes Indexed Job convention: `JOB_COMPLETION_INDEX` (K) of `JOB_COMPLETIONS` (N).
/// `Ok(None)` when neither is set.
pub fn shard_from_env() -> Result<Option<(usize, usize)>, String> {
    let k = std::env::var("JOB_COMPLETION_INDEX").ok();
    let n = std::env::var("JOB_COMPLETIONS").ok();
    match (k, n) {
        (None, None) => Ok(None),
        (Some(k), Some(n)) => parse_shard(&format!("{k}/{n}"))
            .map(Some)
            .map_err(|e| format!("JOB_COMPLETION_INDEX / JOB_COMPLETIONS: {e}")),
        (Some(_), None) => Err("JOB_COMPLETION_INDEX is set but JOB_COMPLETIONS is not".into()),
        (None, Some(_)) => Err("JOB_COMPLETIONS is set but JOB_COMPLETION_INDEX is not".into()),
    }
}

/// This process's arguments (without the program name), minus the given flags and their values
/// (both `--flag value` and `--flag=value`).
pub fn child_args_without(flags: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        if flags.iter().any(|f| a == *f) {
            it.next();
            continue;
        }
        if flags.iter().any(|f| a.starts_with(&format!("{f}="))) {
            continue;
        }
        out.push(a);
    }
    out
}

/// Runs `n` children `<this binary> ARGS --shard K/n` at once and returns their stdout lines, shard
/// 0's first. A child that fails fails the whole.
pub fn run_children(args: &[String], n: usize) -> anyhow::Result<Vec<String>> {
    let exe = std::env::current_exe().context("locating this binary")?;
    let children: Vec<_> = (0..n)
        .map(|k| {
            Command::new(&exe)
                .args(args)
                .arg("--shard")
                .arg(format!("{k}/{n}"))
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .with_context(|| format!("starting shard {k}/{n}"))
        })
        .collect::<anyhow::Result<_>>()?;
    let mut lines = Vec::new();
    for (k, c) in children.into_iter().enumerate() {
        let out = c
            .wait_with_output()
            .with_context(|| format!("waiting for shard {k}/{n}"))?;
        // A shard's own outcome (a failing seed: 1, 3, 4) is data in its lines; bad input (2), a
        // harness crash (5) or a signal is an error.
        if !matches!(out.status.code(), Some(0 | 1 | 3 | 4)) {
            bail!("shard {k}/{n} failed: {}", out.status);
        }
        let text = String::from_utf8(out.stdout).context("shard output is not UTF-8")?;
        lines.extend(
            text.lines()
                .filter(|l| l.starts_with('{'))
                .map(str::to_string),
        );
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_reject() {
        assert_eq!(parse_shard("0/4"), Ok((0, 4)));
        assert_eq!(parse_shard("3/4"), Ok((3, 4)));
        assert!(parse_shard("4/4").is_err());
        assert!(parse_shard("1/0").is_err());
        assert!(parse_shard("x").is_err());
    }
}
