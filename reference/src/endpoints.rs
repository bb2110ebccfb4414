//! Custom endpoints (Aurora's `create-db-cluster-endpoint`): a name over a chosen subset of
//! the cluster's instances, of type `READER` (replicas only) or `ANY` (the writer too).
//!
//! The subset is given either as **static members** (exactly those instances) or as an
//! **exclusion list** (every instance of the cluster except those, so an instance added
//! later joins the endpoint). Membership is evaluated at every resolution against the
//! cluster's current instance list and roles; nothing is precomputed.
//!
//! Two places act on a definition, each on its own knowledge, over messages:
//! - the control plane's name service ([`crate::control`]) resolves `custom:<name>` to a
//!   healthy member (for `READER`: one that reports the replica role and is not the
//!   designated writer). With no such member it answers *no target*: unlike the cluster's
//!   reader endpoint, a custom endpoint never falls back to a non-member.
//! - the instance a client reaches checks its own role for a `READER` endpoint's session
//!   (the client library opens it with [`crate::types::ClientOp::BeginVia`]): a writer
//!   refuses it ([`crate::types::WireError::WrongEndpoint`]), and the client resolves again.
//!   This covers the DNS TTL: a client may hold a resolution made before a failover promoted
//!   that replica (the AWS drivers check `innodb_read_only` for the same reason).
//!
//! Invariant (claim C24, checked from the instances' own records of what they served): every
//! session a custom endpoint's client opened was served by a member of that endpoint, and a
//! `READER` endpoint's session never by an instance in the writer role.

use crate::bug::Bug;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Which instances a custom endpoint may route to, by role.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndpointType {
    /// Replicas only (never the writer, whichever instance that is now).
    #[default]
    Reader,
    /// Any member, the writer included.
    Any,
}

/// One custom endpoint's definition.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomEndpoint {
    #[serde(default)]
    pub kind: EndpointType,
    /// Exactly these instances (when non-empty; `excluded` is then ignored).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub static_members: Vec<String>,
    /// Every instance of the cluster except these (used when `static_members` is empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded: Vec<String>,
}

impl CustomEndpoint {
    /// An `ANY` endpoint over exactly `members`.
    pub fn any<S: Into<String>>(members: impl IntoIterator<Item = S>) -> Self {
        CustomEndpoint {
            kind: EndpointType::Any,
            static_members: members.into_iter().map(Into::into).collect(),
            excluded: vec![],
        }
    }
    /// A `READER` endpoint over exactly `members`.
    pub fn reader<S: Into<String>>(members: impl IntoIterator<Item = S>) -> Self {
        CustomEndpoint {
            kind: EndpointType::Reader,
            ..Self::any(members)
        }
    }
    /// An endpoint over every instance except `excluded`.
    pub fn excluding<S: Into<String>>(
        kind: EndpointType,
        excluded: impl IntoIterator<Item = S>,
    ) -> Self {
        CustomEndpoint {
            kind,
            static_members: vec![],
            excluded: excluded.into_iter().map(Into::into).collect(),
        }
    }

    /// Is `host` a member, given the cluster's instances now? (Role aside: see `kind`.)
    pub fn is_member(&self, host: &str, instances: &[String]) -> bool {
        self.members(instances, &BTreeSet::new())
            .iter()
            .any(|m| m == host)
    }

    /// The members among `instances` (in their order). Bug `custom-endpoint-ignores-exclusions`:
    /// the exclusion list is not applied.
    pub fn members(&self, instances: &[String], bugs: &BTreeSet<Bug>) -> Vec<String> {
        instances
            .iter()
            .filter(|i| {
                if !self.static_members.is_empty() {
                    self.static_members.contains(i)
                } else {
                    bugs.contains(&Bug::CustomEndpointIgnoresExclusions)
                        || !self.excluded.contains(i)
                }
            })
            .cloned()
            .collect()
    }

    /// The name service's pool for this endpoint: members that are healthy and, for `READER`,
    /// report the replica role and are not the designated writer. Empty: no target (bug
    /// `custom-endpoint-falls-back`: then any healthy replica, or the writer, as the cluster's
    /// reader endpoint does).
    pub fn pool(
        &self,
        instances: &[String],
        writer: Option<&str>,
        healthy: impl Fn(&str) -> bool,
        replica: impl Fn(&str) -> bool,
        bugs: &BTreeSet<Bug>,
    ) -> Vec<String> {
        let eligible = |h: &str| match self.kind {
            EndpointType::Any => healthy(h),
            EndpointType::Reader => healthy(h) && replica(h) && Some(h) != writer,
        };
        let pool: Vec<String> = self
            .members(instances, bugs)
            .into_iter()
            .filter(|h| eligible(h))
            .collect();
        if pool.is_empty() && bugs.contains(&Bug::CustomEndpointFallsBack) {
            let replicas: Vec<String> = instances
                .iter()
                .filter(|h| healthy(h) && replica(h) && Some(h.as_str()) != writer)
                .cloned()
                .collect();
            if replicas.is_empty() {
                return writer.map(|w| vec![w.to_string()]).unwrap_or_default();
            }
            return replicas;
        }
        pool
    }

    /// May an instance in the writer role (`is_writer`) serve a session opened through this
    /// endpoint? Bug `custom-endpoint-stale-after-failover`: the role is not checked, so a
    /// replica promoted after a client resolved it keeps serving a `READER` endpoint.
    pub fn admits(&self, is_writer: bool, bugs: &BTreeSet<Bug>) -> bool {
        self.kind == EndpointType::Any
            || !is_writer
            || bugs.contains(&Bug::CustomEndpointStaleAfterFailover)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst() -> Vec<String> {
        ["db-1", "db-2", "db-3", "db-4"].map(String::from).to_vec()
    }

    #[test]
    fn static_and_exclusion_members() {
        let none = BTreeSet::new();
        let s = CustomEndpoint::reader(["db-2", "db-9"]);
        assert_eq!(s.members(&inst(), &none), vec!["db-2"]);
        let e = CustomEndpoint::excluding(EndpointType::Any, ["db-3"]);
        assert_eq!(e.members(&inst(), &none), vec!["db-1", "db-2", "db-4"]);
        // An instance added later joins an exclusion endpoint.
        let mut more = inst();
        more.push("db-5".into());
        assert!(e.is_member("db-5", &more));
        assert!(!s.is_member("db-5", &more));
    }

    #[test]
    fn reader_pool_skips_the_writer_and_never_falls_back() {
        let none = BTreeSet::new();
        let r = CustomEndpoint::reader(["db-2", "db-3"]);
        let pool = r.pool(&inst(), Some("db-2"), |_| true, |h| h != "db-2", &none);
        assert_eq!(pool, vec!["db-3"]);
        let down = r.pool(
            &inst(),
            Some("db-2"),
            |h| h != "db-3",
            |h| h != "db-2",
            &none,
        );
        assert!(down.is_empty());
        let bug: BTreeSet<Bug> = [Bug::CustomEndpointFallsBack].into();
        let fb = r.pool(
            &inst(),
            Some("db-2"),
            |h| h != "db-3",
            |h| h != "db-2",
            &bug,
        );
        assert_eq!(fb, vec!["db-1", "db-4"]);
        assert!(!r.admits(true, &none) && r.admits(false, &none));
        assert!(CustomEndpoint::any(["db-1"]).admits(true, &none));
    }
}
