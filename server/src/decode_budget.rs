//! One memory budget for every image decode (ingest checks and delivery renders).
//!
//! Decoding costs memory in proportion to an image's pixels, not its file size: a legal
//! 2 MB PNG of 9000×9000 is 324 MB once decoded. Without a bound, each concurrent upload or
//! first delivery adds that much. Every decode therefore first takes its estimated cost from
//! one semaphore counted in MiB, and waits while the budget is spent; peak memory then
//! depends on the budget, not on how many requests arrive at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

/// Limits on decoding, as flags.
#[derive(Debug, Clone, clap::Args)]
pub struct DecodeLimits {
    /// Memory (MiB) that decodes running at once may use together; the rest wait their turn.
    /// A decode that alone needs more than this runs by itself. The largest legal image
    /// (100 MP of RGBA, resized) needs about 520 MiB.
    #[arg(
        long,
        env = "DU_DECODE_MEMORY_MB",
        default_value_t = 512,
        value_parser = clap::value_parser!(u64).range(1..=1_048_576)
    )]
    pub decode_memory_mb: u64,

    /// Deepest nesting of elements an SVG may have. The XML parser recurses once per level,
    /// so this bounds its stack (each parse runs on a thread sized for its depth).
    #[arg(
        long,
        env = "DU_SVG_MAX_DEPTH",
        default_value_t = 256,
        value_parser = clap::value_parser!(u32).range(1..=4096)
    )]
    pub svg_max_depth: u32,
}

impl Default for DecodeLimits {
    /// The flags' defaults.
    fn default() -> Self {
        Self {
            decode_memory_mb: 512,
            svg_max_depth: 256,
        }
    }
}

const MIB: u64 = 1024 * 1024;

/// The shared decode budget, and the renders in progress.
#[derive(Debug)]
pub struct DecodeBudget {
    permits: Arc<Semaphore>,
    total_mib: u32,
    renders: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

/// A share of the budget, given back when dropped. Move it into the blocking task that
/// decodes: if the request is cancelled the decode still runs, and must still be counted.
#[derive(Debug)]
pub struct DecodePermit {
    _permit: OwnedSemaphorePermit,
    mib: u32,
}

impl DecodePermit {
    /// How many MiB this permit holds.
    pub fn mib(&self) -> u32 {
        self.mib
    }
}

impl DecodeBudget {
    /// A budget of `limits.decode_memory_mb` MiB.
    pub fn new(limits: &DecodeLimits) -> Self {
        // The flag's parser keeps it within 1..=2^20, so it fits a u32 and is never zero.
        let total_mib = limits.decode_memory_mb.clamp(1, 1 << 20) as u32;
        Self {
            permits: Arc::new(Semaphore::new(total_mib as usize)),
            total_mib,
            renders: Arc::default(),
        }
    }

    /// The whole budget in MiB.
    pub fn total_mib(&self) -> u32 {
        self.total_mib
    }

    /// Waits until `bytes` of the budget are free and takes them. The request is rounded up
    /// to whole MiB (at least 1) and clamped to the whole budget, so that any legal image can
    /// always be decoded: one that alone needs more than the budget runs with nothing else.
    pub async fn acquire(&self, bytes: u64) -> DecodePermit {
        let mib = bytes.div_ceil(MIB).clamp(1, self.total_mib as u64) as u32;
        let permit = Arc::clone(&self.permits)
            .acquire_many_owned(mib)
            .await
            .expect("the decode semaphore is never closed");
        DecodePermit {
            _permit: permit,
            mib,
        }
    }

    /// Waits until no other request renders `key` (an image's variant), then holds it until
    /// the guard is dropped: concurrent first requests for one variant render it once, the
    /// others wait and then read what it cached.
    pub async fn render_turn(&self, key: &str) -> RenderTurn {
        let lock = {
            let mut renders = self.renders.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(renders.entry(key.to_string()).or_default())
        };
        let guard = Arc::clone(&lock).lock_owned().await;
        RenderTurn {
            key: key.to_string(),
            renders: Arc::clone(&self.renders),
            lock,
            guard: Some(guard),
        }
    }
}

/// The turn to render one variant (see [`DecodeBudget::render_turn`]).
#[derive(Debug)]
pub struct RenderTurn {
    key: String,
    renders: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    lock: Arc<tokio::sync::Mutex<()>>,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Drop for RenderTurn {
    fn drop(&mut self) {
        self.guard.take();
        let mut renders = self.renders.lock().unwrap_or_else(|p| p.into_inner());
        // Clones are only made under this map's lock, so the count is stable here: two means
        // the map's and ours, nobody waiting, and the entry can go.
        if Arc::strong_count(&self.lock) == 2 {
            renders.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(mib: u64) -> DecodeBudget {
        DecodeBudget::new(&DecodeLimits {
            decode_memory_mb: mib,
            ..DecodeLimits::default()
        })
    }

    #[test]
    fn the_defaults_are_the_flags_defaults() {
        use clap::Parser;
        #[derive(Parser)]
        struct Flags {
            #[command(flatten)]
            limits: DecodeLimits,
        }
        let parsed = Flags::parse_from(["test"]).limits;
        let default = DecodeLimits::default();
        assert_eq!(
            (parsed.decode_memory_mb, parsed.svg_max_depth),
            (default.decode_memory_mb, default.svg_max_depth)
        );
    }

    #[tokio::test]
    async fn a_cost_over_the_budget_takes_all_of_it_and_runs_alone() {
        let budget = budget(100);
        let small = budget.acquire(10).await;
        assert_eq!(small.mib(), 1, "rounded up to a whole MiB");
        let big = budget.acquire(10_000 * MIB);
        tokio::pin!(big);
        // Waits for the small one, then takes everything.
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), &mut big)
                .await
                .is_err()
        );
        drop(small);
        let big = big.await;
        assert_eq!(big.mib(), 100);
        assert!(budget.permits.available_permits() == 0);
    }

    #[tokio::test]
    async fn one_render_per_key_at_a_time() {
        let budget = budget(10);
        let first = budget.render_turn("a-public").await;
        let other = budget.render_turn("b-public").await;
        let second = budget.render_turn("a-public");
        tokio::pin!(second);
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), &mut second)
                .await
                .is_err()
        );
        drop(first);
        let second = second.await;
        drop((second, other));
        assert!(
            budget.renders.lock().unwrap().is_empty(),
            "entries are removed"
        );
    }
}
