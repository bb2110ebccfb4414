//! Provisioning a clone's cluster: once a clone exists (its branch is registered in
//! the metadata service), the driver installs its own control plane and instances —
//! what `restore-db-cluster-to-point-in-time --restore-type copy-on-write` followed by
//! `create-db-instance` does. They run on the clone's volume (its PG numbers) over the
//! source's storage nodes, with their own epochs, failover and endpoints, and publish
//! to their own event bus (storage events about the clone's PGs are routed there), so
//! each volume's white-box monitor and durability ledger see that volume alone.

use crate::branch::{control_host, instance_host, VolumeId};
use crate::cluster::Cluster;
use crate::control::{ControlConfig, ControlDisk, ControlPlane, InstanceSpec};
use crate::event::EventBus;
use crate::net::{run_node, ControlHost, InstanceHost, Shared};
use crate::writer::WriterConfig;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

/// Handles to a clone's cluster (white-box, for the driver and checks).
#[derive(Clone)]
pub struct CloneCluster {
    pub volume: VolumeId,
    pub control: Rc<RefCell<ControlDisk>>,
    pub bus: Rc<RefCell<EventBus>>,
    /// The clone's instance host names.
    pub instances: Vec<String>,
}

impl CloneCluster {
    pub fn control_host(&self) -> String {
        control_host(self.volume)
    }
    pub fn current_writer(&self) -> Option<String> {
        self.control.borrow().writer.clone()
    }
    pub fn invariant_violations(&self) -> Vec<String> {
        self.bus.borrow().monitor.violations.clone()
    }
    pub fn ledger(&self) -> crate::ledger::Ledger {
        self.bus.borrow().ledger.clone()
    }
}

impl Cluster {
    /// Install clone `volume`'s cluster: a control plane and one instance per spec
    /// (the first is its writer; names get the clone's prefix). Hosts are added to the
    /// running simulation; the clone's volume must already be registered (the admin's
    /// clone request answered done), or its writer waits until storage knows it.
    pub fn install_clone(
        &self,
        sim: &mut turmoil::Sim<'_>,
        volume: VolumeId,
        specs: &[InstanceSpec],
    ) -> CloneCluster {
        let cfg = self.config().clone();
        let base = self.shared();
        let bus = Rc::new(RefCell::new(EventBus::default()));
        bus.borrow_mut().drop_log = !cfg.keep_event_log;
        base.bus.borrow_mut().clones.insert(volume, bus.clone());
        let shared = Shared {
            bus: bus.clone(),
            paused: base.paused.clone(),
            metrics: base.metrics.clone(),
        };
        let specs: Vec<InstanceSpec> = specs
            .iter()
            .map(|s| InstanceSpec {
                name: instance_host(volume, &s.name),
                ..s.clone()
            })
            .collect();
        let placement = self.topo().borrow().pgs.clone();
        let wcfg = WriterConfig {
            lal: cfg.lal,
            cache_pages: cfg.cache_pages,
            resend_ms: cfg.resend_ms,
            read_timeout_ms: cfg.read_timeout_ms,
            bugs: cfg.bugs.clone(),
            isolation: cfg.isolation,
            volume,
            ..WriterConfig::default()
        };
        for spec in &specs {
            let (placement, shared, name, wcfg) = (
                placement.clone(),
                shared.clone(),
                spec.name.clone(),
                wcfg.clone(),
            );
            let (hb, tick) = (cfg.heartbeat_ms, cfg.tick_ms);
            let incarnation = Rc::new(Cell::new(0u64));
            sim.host(spec.name.as_str(), move || {
                let node = InstanceHost::new(
                    name.clone(),
                    placement.clone(),
                    wcfg.clone(),
                    hb,
                    incarnation.clone(),
                );
                run_node(node, shared.clone(), tick)
            });
        }
        let control = Rc::new(RefCell::new(ControlDisk::default()));
        {
            let (control, shared, specs) = (control.clone(), shared.clone(), specs.clone());
            let (fo, ttl, tick, bugs) = (
                cfg.failover_timeout_ms,
                cfg.dns_ttl_ms,
                cfg.background_tick_ms,
                cfg.bugs.clone(),
            );
            sim.host(control_host(volume).as_str(), move || {
                let mut cp = ControlPlane::new(
                    control.clone(),
                    specs.clone(),
                    ControlConfig {
                        failover_timeout_ms: fo,
                        // Segment repair is the source's control plane's work: the
                        // clone's segments share its PGs' memberships.
                        repair_timeout_ms: 0,
                        bugs: bugs.clone(),
                        dns_ttl_ms: ttl,
                        custom: BTreeMap::new(),
                        backtrack_window_ms: 0,
                        global: None,
                        autoscale: None,
                    },
                );
                cp.host = control_host(volume);
                run_node(ControlHost(cp), shared.clone(), tick)
            });
        }
        let c = CloneCluster {
            volume,
            control,
            bus,
            instances: specs.iter().map(|s| s.name.clone()).collect(),
        };
        self.register_clone(c.clone());
        c
    }
}
