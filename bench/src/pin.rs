//! `--pin`: the server under test on one core and the load generator on another, as in the
//! table of issue 19 (`taskset -c 1` for the server). Affinity is per thread and a child
//! process inherits the affinity of the thread that spawns it, so the bench moves its own
//! (only) thread to the server's core just while it spawns a server, then back.

use anyhow::{Context as _, bail};
use nix::sched::{CpuSet, sched_setaffinity};
use nix::unistd::Pid;

/// Which core runs what.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Cores {
    /// The server under test (todoql or a floor).
    pub server: usize,
    /// The load generator (this process).
    pub load: usize,
}

impl Cores {
    /// The last core for servers, the first for the load; needs two cores.
    pub fn choose() -> anyhow::Result<Self> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cores < 2 {
            bail!("--pin needs two cores; this process may use {cores}");
        }
        Ok(Self {
            server: cores - 1,
            load: 0,
        })
    }
}

/// Moves the calling thread (and the processes it spawns from now on) to `core`.
pub fn current_thread_to(core: usize) -> anyhow::Result<()> {
    let mut set = CpuSet::new();
    set.set(core).context("no such core")?;
    sched_setaffinity(Pid::from_raw(0), &set).with_context(|| format!("pinning to core {core}"))
}

/// Spawns `command` on `cores.server` (when pinned) and returns this thread to `cores.load`.
pub fn spawn(
    command: &mut std::process::Command,
    cores: Option<Cores>,
) -> anyhow::Result<std::process::Child> {
    let Some(cores) = cores else {
        return Ok(command.spawn()?);
    };
    current_thread_to(cores.server)?;
    let child = command.spawn();
    current_thread_to(cores.load)?;
    Ok(child?)
}
