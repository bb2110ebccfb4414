//! Server processes on loopback: an unprivileged user to run them as, fresh temporary directories
//! owned by that user, free ports, and process groups the harness can kill, pause and resume.
//!
//! Contract: every directory made by [`TempDir::new`] and every process started by [`Server::spawn`]
//! is registered in a process-wide registry until it is removed or reaped. [`cleanup_all`] kills every
//! registered process group (SIGCONT then SIGKILL) and removes every registered directory; it is
//! called by the `Drop` of the clusters, on Ctrl-C / SIGTERM (see [`install_signal_cleanup`]) and at
//! the end of every run, so no server, port or directory outlives a run.
//!
//! Servers refuse to run as root: when the harness runs as root, each server runs as the engine's
//! system user (`postgres`, `mysql`) through `setuid`/`setgid` in the child; otherwise it runs as the
//! invoking user.

use anyhow::{anyhow, bail, Context, Result};
use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// The user servers run as.
#[derive(Debug, Clone)]
pub struct ServerUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// True when the harness is root and must switch to `uid`/`gid` in children.
    pub switch: bool,
}

impl ServerUser {
    /// `preferred` (e.g. `postgres`) when running as root, else the current user.
    pub fn for_engine(preferred: &str) -> Result<ServerUser> {
        // SAFETY: geteuid/getegid have no preconditions.
        let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
        if euid != 0 {
            return Ok(ServerUser {
                name: std::env::var("USER").unwrap_or_else(|_| euid.to_string()),
                uid: euid,
                gid: egid,
                switch: false,
            });
        }
        let id = |flag: &str| -> Result<u32> {
            let out = Command::new("id")
                .args([flag, preferred])
                .output()
                .context("running id")?;
            if !out.status.success() {
                bail!(
                    "the harness runs as root and needs the unprivileged system user `{preferred}` \
                     (created by the engine's Debian package; run ci/install-engines.sh)"
                );
            }
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .map_err(|e| anyhow!("id {flag} {preferred}: {e}"))
        };
        Ok(ServerUser {
            name: preferred.into(),
            uid: id("-u")?,
            gid: id("-g")?,
            switch: true,
        })
    }

    /// A command that runs as this user (with HOME set to `home`).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>, home: &Path) -> Command {
        let mut c = Command::new(program);
        c.env("HOME", home).env("LC_ALL", "C").current_dir(home);
        if self.switch {
            c.uid(self.uid).gid(self.gid);
        }
        c
    }

    /// Runs a command as this user to completion (without blocking the runtime); its output goes
    /// to `log`. Errors name the command and show the end of the log.
    pub async fn run(&self, program: &str, args: &[&str], home: &Path, log: &Path) -> Result<()> {
        let logf = open_log(log)?;
        let mut cmd = self.command(program, home);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(logf.try_clone()?)
            .stderr(logf);
        let status = tokio::process::Command::from(cmd)
            .status()
            .await
            .with_context(|| format!("starting {program}"))?;
        if !status.success() {
            // The server's own error lines first (tools like mariadb-install-db end their
            // log with generic advice), then the tail.
            let errors: String = std::fs::read_to_string(log)
                .unwrap_or_default()
                .lines()
                .filter(|l| l.contains("ERROR") || l.contains("[ERROR]") || l.contains("FATAL"))
                .take(10)
                .collect::<Vec<_>>()
                .join("\n");
            bail!(
                "{program} {} failed ({status}); log: {}\n{errors}\n{}",
                args.join(" "),
                log.display(),
                tail(log, 20)
            );
        }
        Ok(())
    }
}

fn open_log(log: &Path) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))
}

/// The last `n` lines of a log file (for error messages).
pub fn tail(log: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[derive(Default)]
struct Registry {
    groups: BTreeMap<u64, i32>,
    dirs: BTreeMap<u64, PathBuf>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    groups: BTreeMap::new(),
    dirs: BTreeMap::new(),
});
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner())
}

/// Kills every registered process group and removes every registered directory. Idempotent.
pub fn cleanup_all() {
    let (groups, dirs) = {
        let mut r = registry();
        (std::mem::take(&mut r.groups), std::mem::take(&mut r.dirs))
    };
    for pgid in groups.values() {
        signal_group(*pgid, libc::SIGCONT);
        signal_group(*pgid, libc::SIGKILL);
    }
    if !groups.is_empty() {
        std::thread::sleep(Duration::from_millis(200));
    }
    for d in dirs.values() {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// How many processes and directories are registered (tests assert 0 after a run).
pub fn live_counts() -> (usize, usize) {
    let r = registry();
    (r.groups.len(), r.dirs.len())
}

/// On Ctrl-C or SIGTERM: clean up every server and directory, then exit with 130.
pub fn install_signal_cleanup(rt: &tokio::runtime::Handle) {
    rt.spawn(async {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        eprintln!(
            "\ninterrupted: stopping every server the harness started and removing its directories"
        );
        cleanup_all();
        std::process::exit(130);
    });
}

fn signal_group(pgid: i32, sig: i32) -> bool {
    // SAFETY: kill with a negative pid signals a process group; no memory is touched.
    pgid > 1 && unsafe { libc::kill(-pgid, sig) } == 0
}

/// A temporary directory owned by the server user, removed on drop (and by [`cleanup_all`]).
#[derive(Debug)]
pub struct TempDir {
    id: u64,
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(engine: &str, user: &ServerUser) -> Result<TempDir> {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("aurora-chaos-{engine}-{}-{id}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        registry().dirs.insert(id, path.clone());
        chown(&path, user)?;
        Ok(TempDir { id, path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
        registry().dirs.remove(&self.id);
    }
}

/// Gives `path` to the server user (when switching users).
pub fn chown(path: &Path, user: &ServerUser) -> Result<()> {
    if user.switch {
        std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid))
            .with_context(|| format!("chown {} to {}", path.display(), user.name))?;
    }
    Ok(())
}

/// A free TCP port on 127.0.0.1 (bound and released; the server binds it moments later).
pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// A long-running server process in its own process group.
#[derive(Debug)]
pub struct Server {
    id: u64,
    child: Option<Child>,
    pub pgid: i32,
    pub log: PathBuf,
}

impl Server {
    /// Spawns `cmd` (already configured with program, args and user) in a new process group, with
    /// stdout and stderr appended to `log`.
    pub fn spawn(mut cmd: Command, log: &Path) -> Result<Server> {
        let logf = open_log(log)?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(logf.try_clone()?)
            .stderr(logf)
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {:?}", cmd.get_program()))?;
        let pgid = child.id() as i32;
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        registry().groups.insert(id, pgid);
        Ok(Server {
            id,
            child: Some(child),
            pgid,
            log: log.to_path_buf(),
        })
    }

    /// True while the server's main process has not exited.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// kill -9 of the whole process group; waits for the main process.
    pub fn kill9(&mut self) {
        signal_group(self.pgid, libc::SIGCONT);
        signal_group(self.pgid, libc::SIGKILL);
        self.reap();
    }

    /// SIGSTOP to the whole process group.
    pub fn pause(&self) -> bool {
        signal_group(self.pgid, libc::SIGSTOP)
    }

    /// SIGCONT to the whole process group.
    pub fn resume(&self) -> bool {
        signal_group(self.pgid, libc::SIGCONT)
    }

    /// Sends `sig` to the main process and waits up to `grace` for it to exit, then kills the group.
    pub async fn stop(&mut self, sig: i32, grace: Duration) {
        signal_group(self.pgid, libc::SIGCONT);
        if let Some(c) = &self.child {
            // SAFETY: signalling a pid we spawned and have not yet reaped.
            unsafe { libc::kill(c.id() as i32, sig) };
        }
        let deadline = tokio::time::Instant::now() + grace;
        while tokio::time::Instant::now() < deadline && self.alive() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.kill9();
    }

    fn reap(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // Children of the group (postgres backends) die with SIGKILL; give them a moment.
        for _ in 0..50 {
            if !signal_group(self.pgid, 0) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        registry().groups.remove(&self.id);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.kill9();
        }
    }
}

/// Polls `f` until it succeeds or `timeout` passes; the error names `what` and the last failure.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut f: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match f().await {
            Ok(()) => return Ok(()),
            Err(e) if tokio::time::Instant::now() >= deadline => {
                bail!("{what}: not ready after {timeout:?}: {e:#}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Like [`wait_until`], but gives up at once (with the end of its log) when `server` exits.
pub async fn wait_ready<F, Fut>(
    server: &mut Server,
    what: &str,
    timeout: Duration,
    mut f: F,
) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match f().await {
            Ok(()) => return Ok(()),
            Err(e) => {
                if !server.alive() {
                    bail!("{what} exited during startup:\n{}", tail(&server.log, 15));
                }
                if tokio::time::Instant::now() >= deadline {
                    bail!(
                        "{what}: not ready after {timeout:?}: {e:#}\n{}",
                        tail(&server.log, 15)
                    );
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
