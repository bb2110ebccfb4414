//! Client library, used from a turmoil client host (`sim.client(...)`).
//!
//! A [`Client`] resolves its [`Endpoint`] through the control plane's name service
//! and caches the answer for its TTL, so it can reach a stale target (as with
//! Aurora's DNS). Each request has a timeout in sim time. Every error says whether
//! the operation certainly did not happen (definite) or may have (indeterminate).

use crate::net::{decode, encode, target_addr, PORT};
use crate::types::*;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use turmoil::net::UdpSocket;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// The current writer.
    Cluster,
    /// Round-robin over healthy replicas (the writer when there are none).
    Reader,
    /// One named instance.
    Instance(String),
    /// A custom endpoint over a configured subset of instances.
    Custom(String),
    /// Global database: the writer of whichever region is primary (resolved by the
    /// global coordinator, then inside the region).
    GlobalWriter,
    /// Global database: the readers of one region (`r0`, `r1`, ...).
    RegionReader(String),
}

impl Endpoint {
    fn dns_name(&self) -> String {
        match self {
            Endpoint::Cluster => "cluster".into(),
            Endpoint::Reader => "reader".into(),
            Endpoint::Instance(n) => format!("instance:{n}"),
            Endpoint::Custom(n) => format!("custom:{n}"),
            Endpoint::GlobalWriter => "global-writer".into(),
            Endpoint::RegionReader(r) => format!("region-reader:{r}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("the endpoint did not resolve to any instance")]
    NoTarget,
    #[error("the instance is read-only (a replica)")]
    ReadOnly,
    #[error("the instance is not the writer")]
    NotWriter,
    #[error("transaction aborted: serialization conflict")]
    Conflict,
    #[error("the transaction is unknown to the instance (aborted or the instance restarted)")]
    UnknownTxn,
    #[error("the instance is unavailable (recovering or starting)")]
    Unavailable,
    #[error("no transaction is open")]
    NoTxn,
    #[error("request timed out")]
    Timeout { after_commit: bool },
    #[error("the outcome is unknown (the writer lost its role while committing)")]
    Indeterminate,
    #[error("network error: {0}")]
    Io(String),
    #[error("the instance may not serve this custom endpoint (resolve again)")]
    WrongEndpoint,
    /// A row could not be presented or written under the schema at the read point
    /// (`crate::schema`): definite, nothing was written.
    #[error("schema: {0}")]
    Schema(String),
}

/// Why an admin backtrack did not complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BacktrackError {
    /// The control plane refused it (outside the window, backtrack off, busy).
    #[error("backtrack rejected: {0}")]
    Rejected(String),
    /// No answer within the deadline: it may still complete (indeterminate).
    #[error("backtrack did not complete within its deadline (it may still complete)")]
    Timeout,
}

impl ClientError {
    /// True when the operation may have taken effect (record as `:info`); false when it
    /// certainly did not (record as `:fail`).
    pub fn is_indeterminate(&self) -> bool {
        matches!(
            self,
            ClientError::Timeout { .. } | ClientError::Indeterminate | ClientError::Io(_)
        )
    }
    fn from_wire(e: WireError) -> Self {
        match e {
            WireError::ReadOnly => ClientError::ReadOnly,
            WireError::NotWriter => ClientError::NotWriter,
            WireError::Conflict => ClientError::Conflict,
            WireError::UnknownTxn => ClientError::UnknownTxn,
            WireError::Unavailable => ClientError::Unavailable,
            WireError::Indeterminate => ClientError::Indeterminate,
            WireError::WrongEndpoint => ClientError::WrongEndpoint,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ClientConfig {
    pub request_timeout_ms: u64,
    pub commit_timeout_ms: u64,
    pub resolve_timeout_ms: u64,
    /// The control plane whose name service and admin API this client uses (the
    /// cluster's `control`, or a clone's: [`crate::branch::control_host`]).
    pub control: String,
    /// Client-side bugs switched on (only `client-retries-indeterminate` acts here).
    pub bugs: std::collections::BTreeSet<crate::bug::Bug>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            request_timeout_ms: 500,
            commit_timeout_ms: 1000,
            resolve_timeout_ms: 200,
            control: crate::branch::control_host(0),
            bugs: Default::default(),
        }
    }
}

pub struct Client {
    endpoint: Endpoint,
    pub(crate) cfg: ClientConfig,
    sock: UdpSocket,
    next_id: u64,
    cached: Option<(String, u64)>,
    /// The open transaction: (instance it lives on, txn id).
    txn: Option<(String, u64)>,
    /// The open transaction's mode and the data operations it ran (kept only with the bug
    /// `client-retries-indeterminate`, which replays them).
    replay: Option<(bool, Vec<ClientOp>)>,
    buf: Vec<u8>,
    /// The catalog this session read first (kept only with the bug `ddl-unknown-version`).
    pub(crate) catalog_cache: Option<Datum>,
}

impl Client {
    pub async fn connect(endpoint: Endpoint) -> Result<Client, ClientError> {
        Self::connect_with(endpoint, ClientConfig::default()).await
    }

    pub async fn connect_with(
        endpoint: Endpoint,
        cfg: ClientConfig,
    ) -> Result<Client, ClientError> {
        let sock = UdpSocket::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0))
            .await
            .map_err(|e| ClientError::Io(e.to_string()))?;
        Ok(Client {
            endpoint,
            cfg,
            sock,
            next_id: 0,
            cached: None,
            txn: None,
            replay: None,
            buf: vec![0u8; 1 << 20],
            catalog_cache: None,
        })
    }

    /// The instance the endpoint currently resolves to (cached for the TTL).
    pub async fn target(&mut self) -> Result<String, ClientError> {
        let now = crate::net::now_ms();
        if let Some((t, exp)) = &self.cached {
            if now < *exp {
                return Ok(t.clone());
            }
        }
        let (resolver, name) = match &self.endpoint {
            Endpoint::GlobalWriter | Endpoint::RegionReader(_) => {
                let region = self
                    .resolve_at(crate::region::GLOBAL, self.endpoint.dns_name())
                    .await?;
                if region.ends_with("-rs") {
                    // A rejoined primary region, answered by its server's host name.
                    return Ok(self.cache(region, 5000));
                }
                if region != crate::region::PRIMARY {
                    return Ok(self.cache(crate::region::GlobalConfig::server_host(&region), 5000));
                }
                let local = if self.endpoint == Endpoint::GlobalWriter {
                    "cluster"
                } else {
                    "reader"
                };
                ("control".to_string(), local.to_string())
            }
            e => (self.cfg.control.clone(), e.dns_name()),
        };
        let t = self.resolve_at(&resolver, name).await?;
        Ok(t)
    }

    fn cache(&mut self, t: String, ttl_ms: u64) -> String {
        self.cached = Some((t.clone(), crate::net::now_ms() + ttl_ms));
        t
    }

    /// One DNS-style lookup at `resolver`; the answer is cached for its TTL.
    async fn resolve_at(
        &mut self,
        resolver: &str,
        endpoint: String,
    ) -> Result<String, ClientError> {
        self.next_id += 1;
        let id = self.next_id;
        let msg = Msg::Resolve { id, endpoint };
        match self
            .call(resolver, msg, self.cfg.resolve_timeout_ms, id)
            .await?
        {
            Msg::Resolved {
                target: Some(t),
                ttl_ms,
                ..
            } => {
                self.cached = Some((t.clone(), crate::net::now_ms() + ttl_ms));
                Ok(t)
            }
            _ => Err(ClientError::NoTarget),
        }
    }

    /// Forget the cached resolution (e.g. after an error), forcing a fresh lookup.
    pub fn invalidate(&mut self) {
        self.cached = None;
    }

    async fn call(
        &mut self,
        to: &str,
        msg: Msg,
        timeout_ms: u64,
        id: u64,
    ) -> Result<Msg, ClientError> {
        let addr = target_addr(to).ok_or(ClientError::NoTarget)?;
        let _ = PORT;
        self.sock
            .send_to(&encode(&msg), addr)
            .await
            .map_err(|e| ClientError::Io(e.to_string()))?;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(timeout_ms);
        loop {
            let r = tokio::time::timeout_at(deadline, self.sock.recv_from(&mut self.buf)).await;
            let (n, _src) = match r {
                Err(_) => {
                    return Err(ClientError::Timeout {
                        after_commit: false,
                    })
                }
                Ok(Err(e)) => return Err(ClientError::Io(e.to_string())),
                Ok(Ok(x)) => x,
            };
            match decode(&self.buf[..n]) {
                Some(m @ Msg::Reply { id: rid, .. }) if rid == id => return Ok(m),
                Some(m @ Msg::Resolved { id: rid, .. }) if rid == id => return Ok(m),
                Some(m @ Msg::BacktrackReply { id: rid, .. }) if rid == id => return Ok(m),
                Some(m @ Msg::CloneReply { id: rid, .. }) if rid == id => return Ok(m),
                _ => continue, // stale reply to an earlier, timed-out request
            }
        }
    }

    async fn request(
        &mut self,
        target: &str,
        txn: u64,
        op: ClientOp,
    ) -> Result<ClientReply, ClientError> {
        self.next_id += 1;
        let id = self.next_id;
        let commit = matches!(op, ClientOp::Commit);
        let t = if commit {
            self.cfg.commit_timeout_ms
        } else {
            self.cfg.request_timeout_ms
        };
        match self.call(target, Msg::Request { id, txn, op }, t, id).await {
            Ok(Msg::Reply {
                reply: ClientReply::Err(e),
                ..
            }) => Err(ClientError::from_wire(e)),
            Ok(Msg::Reply { reply, .. }) => Ok(reply),
            Ok(_) => Err(ClientError::Io("unexpected reply".into())),
            Err(ClientError::Timeout { .. }) => Err(ClientError::Timeout {
                after_commit: commit,
            }),
            Err(e) => Err(e),
        }
    }

    /// Begin a transaction on the endpoint's current target.
    pub async fn begin(&mut self, read_only: bool) -> Result<(), ClientError> {
        self.txn = None;
        let target = self.target().await?;
        let op = match &self.endpoint {
            // A custom endpoint's session: the instance checks it may serve it.
            Endpoint::Custom(name) => ClientOp::BeginVia {
                read_only,
                endpoint: name.clone(),
            },
            _ => ClientOp::Begin { read_only },
        };
        match self.request(&target, 0, op).await {
            Ok(ClientReply::Begun { txn }) => {
                self.txn = Some((target, txn));
                self.replay = self.retries_commits().then(|| (read_only, Vec::new()));
                Ok(())
            }
            Ok(_) => Err(ClientError::Io("unexpected reply".into())),
            Err(e) => {
                if !matches!(e, ClientError::ReadOnly)
                    || matches!(self.endpoint, Endpoint::Cluster | Endpoint::GlobalWriter)
                {
                    self.invalidate();
                }
                // Begin has no effect on data: even a timeout is definite.
                Err(match e {
                    ClientError::Timeout { .. } | ClientError::Io(_) => ClientError::Unavailable,
                    e => e,
                })
            }
        }
    }

    fn retries_commits(&self) -> bool {
        self.cfg
            .bugs
            .contains(&crate::bug::Bug::ClientRetriesIndeterminate)
    }

    async fn op(&mut self, op: ClientOp) -> Result<ClientReply, ClientError> {
        let (target, txn) = self.txn.clone().ok_or(ClientError::NoTxn)?;
        let commit = matches!(op, ClientOp::Commit);
        let ending = commit || matches!(op, ClientOp::Abort);
        if let (Some((_, ops)), false) = (self.replay.as_mut(), ending) {
            ops.push(op.clone());
        }
        let r = self.request(&target, txn, op).await;
        if ending || r.is_err() {
            self.txn = None;
        }
        match r {
            // A timeout before commit leaves nothing behind: the transaction never commits.
            Err(ClientError::Timeout {
                after_commit: false,
            }) => {
                self.invalidate();
                Err(ClientError::Unavailable)
            }
            Err(e) => {
                if !matches!(e, ClientError::Conflict) {
                    self.invalidate();
                }
                Err(e)
            }
            ok => ok,
        }
    }

    pub async fn read(&mut self, key: u64) -> Result<Datum, ClientError> {
        match self.op(ClientOp::Read { key }).await? {
            ClientReply::Value(v) => Ok(v),
            _ => Err(ClientError::Io("unexpected reply".into())),
        }
    }

    /// Parallel query: count and sum of the integer values ≥ `min` of keys in `[lo, hi]`
    /// at read point `at` (None: the current VDL), pushed down to storage or evaluated
    /// at the instance. Sent to the open transaction's instance, else the endpoint's.
    /// Returns (count, sum, read point, messages, bytes). A scan writes nothing: every
    /// error is definite.
    pub async fn scan(
        &mut self,
        lo: u64,
        hi: u64,
        min: i64,
        pushdown: bool,
        at: Option<Lsn>,
    ) -> Result<(u64, i64, Lsn, u64, u64), ClientError> {
        let target = match &self.txn {
            Some((t, _)) => t.clone(),
            None => self.target().await?,
        };
        let op = ClientOp::Scan {
            lo,
            hi,
            min,
            pushdown,
            at,
        };
        match self.request(&target, 0, op).await {
            Ok(ClientReply::Scanned {
                count,
                sum,
                at,
                msgs,
                bytes,
            }) => Ok((count, sum, at, msgs, bytes)),
            Ok(_) => Err(ClientError::Io("unexpected reply".into())),
            Err(e) => {
                self.invalidate();
                Err(match e {
                    ClientError::Timeout { .. } | ClientError::Io(_) => ClientError::Unavailable,
                    e => e,
                })
            }
        }
    }

    pub async fn write(&mut self, key: u64, value: Datum) -> Result<(), ClientError> {
        self.op(ClientOp::Write { key, value }).await.map(|_| ())
    }

    pub async fn append(&mut self, key: u64, elem: i64) -> Result<(), ClientError> {
        self.op(ClientOp::Append { key, elem }).await.map(|_| ())
    }

    pub async fn cas(
        &mut self,
        key: u64,
        expected: Datum,
        new: Datum,
    ) -> Result<bool, ClientError> {
        match self.op(ClientOp::Cas { key, expected, new }).await? {
            ClientReply::Cas(b) => Ok(b),
            _ => Err(ClientError::Io("unexpected reply".into())),
        }
    }

    pub async fn commit(&mut self) -> Result<(), ClientError> {
        let replay = self.replay.take();
        let r = self.op(ClientOp::Commit).await.map(|_| ());
        match (r, replay) {
            // Bug `client-retries-indeterminate`: an indeterminate commit is taken for a
            // failure and the transaction is run again, once, on a fresh resolution; the
            // caller sees only the second attempt's result (the first may have committed).
            (Err(e), Some((read_only, ops))) if e.is_indeterminate() => {
                self.invalidate();
                self.begin(read_only).await?;
                self.replay = None;
                for op in ops {
                    self.op(op).await?;
                }
                self.op(ClientOp::Commit).await.map(|_| ())
            }
            (r, _) => r,
        }
    }

    pub async fn abort(&mut self) -> Result<(), ClientError> {
        if self.txn.is_none() {
            return Ok(());
        }
        self.op(ClientOp::Abort).await.map(|_| ())
    }

    /// Admin: rewind the cluster to simulated time `to_ms` (what `aws rds
    /// backtrack-db-cluster` does). `request` names the request (idempotent: it is
    /// resent until the control plane answers done or rejected, at most
    /// `deadline_ms` of simulated time). Every connection to the writer is closed by
    /// the backtrack; the result names the point `T′` used and the state it left.
    pub async fn backtrack(
        &mut self,
        request: u64,
        to_ms: SimTime,
        deadline_ms: u64,
    ) -> Result<crate::volume::BacktrackDone, BacktrackError> {
        use crate::volume::BacktrackStatus;
        let until = crate::net::now_ms() + deadline_ms;
        loop {
            let msg = Msg::Backtrack { id: request, to_ms };
            let control = self.cfg.control.clone();
            match self.call(&control, msg, 200, request).await {
                Ok(Msg::BacktrackReply {
                    status: BacktrackStatus::Done(d),
                    ..
                }) => return Ok(d),
                Ok(Msg::BacktrackReply {
                    status: BacktrackStatus::Rejected(why),
                    ..
                }) => return Err(BacktrackError::Rejected(why)),
                _ => {}
            }
            if crate::net::now_ms() >= until {
                return Err(BacktrackError::Timeout);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Admin: create a copy-on-write clone of the cluster's volume (what `aws rds
    /// restore-db-cluster-to-point-in-time --restore-type copy-on-write` does).
    /// Idempotent by `request`, resent until done or rejected, for at most
    /// `deadline_ms`. The result names the clone's volume and its branch point: the
    /// clone holds the committed state the cluster showed at `Branch::at`.
    pub async fn clone_volume(
        &mut self,
        request: u64,
        deadline_ms: u64,
    ) -> Result<crate::branch::Branch, BacktrackError> {
        use crate::branch::CloneStatus;
        let until = crate::net::now_ms() + deadline_ms;
        loop {
            let control = self.cfg.control.clone();
            match self
                .call(&control, Msg::Clone { id: request }, 200, request)
                .await
            {
                Ok(Msg::CloneReply {
                    status: CloneStatus::Done(b),
                    ..
                }) => return Ok(b),
                Ok(Msg::CloneReply {
                    status: CloneStatus::Rejected(why),
                    ..
                }) => return Err(BacktrackError::Rejected(why)),
                _ => {}
            }
            if crate::net::now_ms() >= until {
                return Err(BacktrackError::Timeout);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The instance the open transaction runs on, if any.
    pub fn txn_target(&self) -> Option<&str> {
        self.txn.as_ref().map(|(t, _)| t.as_str())
    }
}
