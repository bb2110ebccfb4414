//! Opening the volume [P18 §2.4]: read a quorum of every PG (which also records the
//! new epoch there, fencing the old writer), recompute VCL/VDL from the union of
//! what the segments hold, re-replicate the retained tail to write quorum, and
//! write a truncation range `(VDL, VDL + LAL]` (widened to cover anything seen).
//! New LSNs start above the range.

use super::{Phase, Writer};
use crate::event::EventKind;
use crate::types::*;
use std::collections::{BTreeMap, BTreeSet};

struct SegState {
    scl: Lsn,
    vdl_seen: Lsn,
    floor: Lsn,
    records: Vec<Record>,
    truncations: Vec<Truncation>,
    cut: Option<(Lsn, SimTime)>,
}

pub(crate) struct Recovery {
    id: u64,
    epoch: Epoch,
    states: BTreeMap<PgId, BTreeMap<String, SegState>>,
    /// Set once the new VDL is chosen: per-PG records to re-replicate, and acks.
    plan: Option<Plan>,
    next_send: SimTime,
}

struct Plan {
    vdl: Lsn,
    truncation: Truncation,
    truncations: Vec<Truncation>,
    records: BTreeMap<PgId, Vec<Record>>,
    tails: BTreeMap<PgId, Lsn>,
    acks: BTreeMap<PgId, BTreeMap<String, Lsn>>,
    /// A backtrack: its report, the deactivations per PG, and the highest active
    /// record each PG's acknowledgements reported (the new PG tails).
    backtrack: Option<(
        crate::volume::BacktrackDone,
        BTreeMap<PgId, Vec<Truncation>>,
    )>,
    acked_tails: BTreeMap<PgId, Lsn>,
}

impl Recovery {
    pub(crate) fn new(epoch: Epoch) -> Self {
        Recovery {
            id: epoch,
            epoch,
            states: BTreeMap::new(),
            plan: None,
            next_send: 0,
        }
    }
}

impl Writer {
    pub(crate) fn recovery_tick(&mut self, now: SimTime, outs: &mut Vec<Outbound>) {
        let cut = self.cut_query();
        let Some(r) = self.recovery.as_ref() else {
            return;
        };
        if now < r.next_send {
            return;
        }
        // Auto-scaling: learn the current PG map (every PG of it) before querying any.
        if !self.map_known() {
            outs.extend(self.view.request(now));
            return;
        }
        let planned = r.plan.is_some();
        // The membership may have changed since the last answer: the answers in may be
        // a quorum of it now.
        if !planned && self.recovery_ready() {
            self.recovery_try_plan(now, outs);
            return;
        }
        if planned {
            self.recovery_try_finish(now);
            if self.recovery.is_none() {
                return;
            }
        }
        let Some(r) = self.recovery.as_mut() else {
            return;
        };
        r.next_send = now + self.cfg.resend_ms;
        for (pg, m) in self.view.iter() {
            for h in m.all() {
                match &r.plan {
                    None if !r
                        .states
                        .get(&pg)
                        .map(|s| s.contains_key(&h))
                        .unwrap_or(false) =>
                    {
                        outs.push(out(
                            h,
                            Msg::RecoverQuery {
                                id: r.id,
                                epoch: r.epoch,
                                pg,
                                mepoch: m.epoch,
                                cut,
                            },
                        ));
                    }
                    Some(plan)
                        if !plan
                            .acks
                            .get(&pg)
                            .map(|s| s.contains_key(&h))
                            .unwrap_or(false) =>
                    {
                        outs.push(out(
                            h,
                            Msg::RecoverCommit {
                                id: r.id,
                                epoch: r.epoch,
                                pg,
                                mepoch: m.epoch,
                                records: plan.records.get(&pg).cloned().unwrap_or_default(),
                                vdl: plan.vdl,
                                truncations: plan.truncations_for(pg),
                            },
                        ));
                    }
                    _ => {}
                }
            }
        }
    }

    /// Resend the current recovery step now (after a membership refresh).
    pub(crate) fn recovery_resend(&mut self, now: SimTime, outs: &mut Vec<Outbound>) {
        if let Some(r) = self.recovery.as_mut() {
            r.next_send = 0;
        }
        self.recovery_tick(now, outs);
    }

    pub(crate) fn on_recovery_msg(
        &mut self,
        now: SimTime,
        _from: &str,
        msg: Msg,
        outs: &mut Vec<Outbound>,
    ) {
        let Some(r) = self.recovery.as_mut() else {
            return;
        };
        match msg {
            Msg::RecoverState {
                id,
                pg,
                seg,
                epoch,
                scl,
                vdl_seen,
                floor,
                records,
                truncations,
                cut,
            } if id == r.id && epoch == r.epoch && r.plan.is_none() => {
                r.states.entry(pg).or_default().insert(
                    seg,
                    SegState {
                        scl,
                        vdl_seen,
                        floor,
                        records,
                        truncations,
                        cut,
                    },
                );
                self.recovery_try_plan(now, outs);
            }
            Msg::RecoverCommitted {
                id,
                pg,
                seg,
                scl,
                tail,
            } if id == r.id => {
                let Some(plan) = r.plan.as_mut() else { return };
                plan.acks.entry(pg).or_default().insert(seg, scl);
                let t = plan.acked_tails.entry(pg).or_default();
                *t = (*t).max(tail);
                self.recovery_try_finish(now);
            }
            _ => {}
        }
    }

    /// Every PG has answers from a write quorum of its current membership (so a recovery
    /// whose answers were all in before a membership change completes once the change
    /// commits: the check runs on each answer and on each tick).
    fn recovery_ready(&self) -> bool {
        let Some(r) = self.recovery.as_ref() else {
            return false;
        };
        // Bug `recovery-read-quorum-2`: the first 2 answers of each PG suffice.
        let two = self
            .cfg
            .bugs
            .contains(&crate::bug::Bug::RecoveryReadQuorumTwo);
        r.plan.is_none()
            && self.view.iter().all(|(p, m)| {
                r.states
                    .get(&p)
                    .map(|s| (two && s.len() >= 2) || m.write_ok(&s.keys().cloned().collect()))
                    .unwrap_or(false)
            })
    }

    /// Once ready: choose the new VDL and truncation range, and send the recovery's commit.
    fn recovery_try_plan(&mut self, now: SimTime, outs: &mut Vec<Outbound>) {
        if !self.recovery_ready() {
            return;
        }
        {
            let r = self.recovery.as_mut().unwrap();
            {
                {
                    let mut plan = plan(r, self.cfg.lal);
                    // Bug `no-truncation`: the range is decided but never written.
                    if self.cfg.bugs.contains(&crate::bug::Bug::NoTruncation) {
                        plan.truncations.retain(|t| *t != plan.truncation);
                    }
                    if let Some(job) = self.backtrack.as_ref() {
                        let truncs: BTreeSet<Truncation> =
                            plan.truncations.iter().copied().collect();
                        let input = super::backtrack::CutInput {
                            job,
                            answers: r
                                .states
                                .values()
                                .flat_map(|s| s.values().filter_map(|x| x.cut))
                                .collect(),
                            kept: plan.records.values().flatten().collect(),
                            truncations: &truncs,
                            epoch: r.epoch,
                            now,
                            resume: plan.truncation.hi,
                            bugs: &self.cfg.bugs,
                            pgs: self.view.iter().map(|(p, _)| p).collect(),
                        };
                        plan.backtrack = Some(super::backtrack::plan_backtrack(input));
                    }
                    r.plan = Some(plan);
                    r.next_send = 0;
                }
            }
        }
        self.recovery_tick(now, outs);
    }

    /// Finish once a write quorum of every PG's current membership acknowledged the commit.
    fn recovery_try_finish(&mut self, now: SimTime) {
        let done = self
            .recovery
            .as_ref()
            .and_then(|r| r.plan.as_ref())
            .is_some_and(|plan| {
                self.view.iter().all(|(p, m)| {
                    plan.acks
                        .get(&p)
                        .map(|s| m.write_ok(&s.keys().cloned().collect()))
                        .unwrap_or(false)
                })
            });
        if done {
            self.finish_recovery(now);
        }
    }

    fn finish_recovery(&mut self, now: SimTime) {
        self.last_progress = now;
        self.opened_at = now;
        let r = self.recovery.take().unwrap();
        let plan = r.plan.unwrap();
        // The truncation range holds no records, so every LSN up to its top is
        // (vacuously) complete: VDL continues from there and LAL stays satisfiable.
        let vdl = plan.truncation.hi;
        self.vdl = vdl;
        self.vcl = vdl;
        self.hinted_vdl = Lsn::ZERO;
        self.stream_sent = plan.vdl;
        // Bug `lsn-inside-truncation`: allocation restarts right above the new VDL.
        self.next_lsn = if self
            .cfg
            .bugs
            .contains(&crate::bug::Bug::LsnInsideTruncation)
        {
            plan.vdl.next()
        } else {
            plan.truncation.hi.next()
        };
        let mut tails = plan.tails.clone();
        let mut truncations = plan.truncations.clone();
        if let Some((done, per_pg)) = &plan.backtrack {
            // Backtrack: new records link to the last active record of each PG, and the
            // volume stays closed until the control plane has recorded the new era.
            for (pg, t) in &plan.acked_tails {
                tails.insert(*pg, *t);
            }
            let all: Vec<Truncation> = per_pg.values().flatten().copied().collect();
            crate::types::merge_truncations(&mut truncations, &all);
            self.skip_deact_pg = per_pg.iter().find(|(_, d)| d.is_empty()).map(|(pg, _)| *pg);
            self.backtrack_done = Some((
                self.backtrack.as_ref().map(|j| j.id).unwrap_or_default(),
                done.clone(),
            ));
            self.stream_sent = Lsn::ZERO;
        }
        self.declared = truncations
            .iter()
            .filter(|t| !t.keep || t.epoch == deact_gen(&truncations))
            .copied()
            .collect();
        self.declared.push(plan.truncation);
        self.truncations = truncations;
        self.pg_tail = tails.clone();
        self.pg_durable_tail = tails;
        self.seg_scl = plan.acks;
        self.adopt_survived(plan.vdl, plan.backtrack.is_some());
        self.phase = if self.backtrack_done.is_some() {
            Phase::Recovering
        } else {
            Phase::Open
        };
        self.events
            .push(EventKind::EpochBumped { epoch: self.epoch });
        self.events.push(EventKind::RecoveryDone {
            epoch: self.epoch,
            vdl: plan.vdl,
            truncation: plan.truncation,
        });
        self.events.push(EventKind::VdlAdvanced {
            epoch: self.epoch,
            vdl: plan.vdl,
        });
        // Global database: the commits this recovery found durable (the retained tail, at
        // or below the new VDL) are durable on the primary from now on, whether or not the
        // old writer's agent lived to see them; the agent fills them to secondaries.
        if self.cfg.global.is_some() && plan.backtrack.is_none() {
            let mut cpls: Vec<Lsn> = plan
                .records
                .values()
                .flatten()
                .filter(|r| r.cpl && r.lsn <= plan.vdl)
                .map(|r| r.lsn)
                .collect();
            cpls.sort();
            for lsn in cpls {
                self.events.push(EventKind::GlobalPrimaryDurable { lsn });
            }
        }
    }
}

/// Choose the new VDL and truncation range from a read quorum of every PG.
fn plan(r: &Recovery, lal: u64) -> Plan {
    let mut truncs: BTreeSet<Truncation> = BTreeSet::new();
    let mut v_old = Lsn::ZERO;
    let mut max_seen = Lsn::ZERO;
    for segs in r.states.values() {
        for s in segs.values() {
            truncs.extend(s.truncations.iter().copied());
            v_old = v_old.max(s.vdl_seen);
            max_seen = max_seen.max(s.scl);
            for rec in &s.records {
                max_seen = max_seen.max(rec.lsn);
            }
        }
    }
    // Only the deactivations in force count (a later backtrack replaced older ones).
    let g = deact_gen(&truncs.iter().copied().collect::<Vec<_>>());
    truncs.retain(|t| !t.keep || t.epoch == g);
    let truncated = |l: Lsn| truncs.iter().any(|t| t.contains(l));
    // Per PG: walk the backlink chain over the union of records from the floor up.
    let mut chains: BTreeMap<PgId, (Lsn, Vec<Record>)> = BTreeMap::new();
    let mut present: BTreeMap<Lsn, bool> = BTreeMap::new(); // lsn -> is CPL
    for (pg, segs) in &r.states {
        let floor = segs.values().map(|s| s.floor).max().unwrap_or_default();
        let mut by_prev: BTreeMap<Lsn, Record> = BTreeMap::new();
        for s in segs.values() {
            for rec in s
                .records
                .iter()
                .filter(|x| x.lsn > floor && !truncated(x.lsn))
            {
                let e = by_prev.entry(rec.prev).or_insert_with(|| rec.clone());
                if rec.lsn < e.lsn {
                    *e = rec.clone();
                }
            }
        }
        let mut cur = floor;
        let mut chain = vec![];
        while let Some(rec) = by_prev.get(&cur) {
            cur = rec.lsn;
            present.insert(rec.lsn, rec.cpl);
            chain.push(rec.clone());
        }
        chains.insert(*pg, (floor, chain));
    }
    // VCL: from the old VDL, every LSN must be in some chain or in a truncation range.
    let mut vcl = v_old;
    let mut vdl = v_old;
    loop {
        let n = vcl.next();
        if let Some(t) = truncs.iter().find(|t| t.contains(n)) {
            vcl = t.hi;
            continue;
        }
        match present.get(&n) {
            Some(cpl) => {
                vcl = n;
                if *cpl {
                    vdl = n;
                }
            }
            None => break,
        }
    }
    let hi = [
        Lsn(vdl.0 + lal),
        max_seen,
        truncs.iter().map(|t| t.hi).max().unwrap_or_default(),
    ]
    .into_iter()
    .max()
    .unwrap();
    let truncation = Truncation {
        lo: vdl,
        hi,
        epoch: r.epoch,
        keep: false,
        floor_ms: 0,
    };
    truncs.insert(truncation);
    let mut records = BTreeMap::new();
    let mut tails = BTreeMap::new();
    for (pg, (floor, chain)) in chains {
        let keep: Vec<Record> = chain.into_iter().filter(|x| x.lsn <= vdl).collect();
        tails.insert(pg, keep.last().map(|x| x.lsn).unwrap_or(floor));
        records.insert(pg, keep);
    }
    Plan {
        vdl,
        truncation,
        truncations: truncs.into_iter().collect(),
        records,
        tails,
        acks: BTreeMap::new(),
        backtrack: None,
        acked_tails: BTreeMap::new(),
    }
}

impl Plan {
    /// What the recovery's commit writes to one PG: every truncation range, plus a
    /// backtrack's deactivations for that PG.
    fn truncations_for(&self, pg: PgId) -> Vec<Truncation> {
        let mut ts = self.truncations.clone();
        if let Some((_, per_pg)) = &self.backtrack {
            merge_truncations(
                &mut ts,
                per_pg.get(&pg).map(|v| v.as_slice()).unwrap_or(&[]),
            );
        }
        ts
    }
}
