//! `provider-simulator`: the simulator as a standalone server, steered over HTTP
//! through `/_sim` (see the library's `control` module).

use std::{net::SocketAddr, time::Duration};

use clap::Parser;
use electrons_simulator::Simulator;
use tracing_subscriber::EnvFilter;

/// Serves provider APIs (OpenAI, Anthropic, Ideogram, Gemini and Veo,
/// ElevenLabs, Pexels, Shotstack) in their wire formats, with real media bytes
/// and switchable faults.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Config {
    /// Address to listen on.
    #[arg(long, env = "SIM_ADDR", default_value = "127.0.0.1:9090")]
    addr: SocketAddr,
    /// Latency added before every provider response, in milliseconds.
    #[arg(long, env = "SIM_LATENCY_MS", default_value_t = 0)]
    latency_ms: u64,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let config = Config::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let sim = Simulator::start(config.addr).await?;
    sim.controls().set_latency(Duration::from_millis(config.latency_ms));
    tracing::info!(url = %sim.base_url(), latency_ms = config.latency_ms, "provider simulator listening");
    shutdown_signal().await?;
    tracing::info!("shutting down");
    sim.shutdown();
    // In-flight requests get a moment to finish; a client holding a keep-alive
    // connection open must not keep the process alive.
    if tokio::time::timeout(Duration::from_secs(5), sim.stopped())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after 5 s; exiting anyway");
    }
    Ok(())
}

/// Ctrl-C, or SIGTERM from a process manager.
async fn shutdown_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            interrupted = tokio::signal::ctrl_c() => interrupted,
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
