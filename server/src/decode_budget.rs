//! One memory budget for every image decode (ingest checks and delivery renders).

/// Limits on decoding, as flags.
#[derive(Debug, Clone, clap::Args)]
pub struct DecodeLimits {
    /// Memory (MiB) that decodes running at once may use together; the rest wait their turn.
    #[arg(long, env = "DU_DECODE_MEMORY_MB", default_value_t = 1024)]
    pub decode_memory_mb: u64,
}
