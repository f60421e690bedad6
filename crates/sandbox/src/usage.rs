//! Samples of a container's cgroup during a run (memory, cpu, pids), for the report's
//! peaks and the monitor file. The runtime's `Container` reads the files (v1 or v2).

use std::time::Duration;

use serde::Serialize;
use vsbx_runtime::Container;

/// One sample of the cgroup.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub t_ms: u64,
    pub memory_bytes: u64,
    pub cpu_user_ms: u64,
    pub cpu_system_ms: u64,
    pub pids: u64,
}

#[derive(Default)]
pub struct Sampler {
    samples: Vec<Sample>,
    peak_pids: u64,
}

impl Sampler {
    pub fn new() -> Sampler {
        Sampler::default()
    }

    pub fn sample(&mut self, c: &Container, at: Duration) {
        let u = c.usage();
        self.peak_pids = self.peak_pids.max(u.pids).max(u.peak_pids);
        self.samples.push(Sample {
            t_ms: at.as_millis() as u64,
            memory_bytes: u.memory_bytes,
            cpu_user_ms: u.cpu_user_ms,
            cpu_system_ms: u.cpu_system_ms,
            pids: u.pids,
        });
    }

    pub fn peak_pids(&self) -> u64 {
        self.peak_pids
    }

    pub fn into_samples(self) -> Vec<Sample> {
        self.samples
    }
}
