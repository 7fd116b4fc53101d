//! `provider-simulator`: the simulator as a standalone server.

use std::{net::SocketAddr, time::Duration};

use clap::Parser;
use electrons_simulator::Simulator;

#[derive(Parser)]
#[command(about = "Serves provider APIs (OpenAI, Anthropic) in their wire formats, with fault switches")]
struct Args {
    #[arg(long, env = "SIM_ADDR", default_value = "127.0.0.1:9090")]
    addr: SocketAddr,
    #[arg(long, env = "SIM_LATENCY_MS", default_value_t = 0)]
    latency_ms: u64,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
        .init();
    let sim = Simulator::start(args.addr).await?;
    sim.controls().set_latency(Duration::from_millis(args.latency_ms));
    tracing::info!(url = %sim.base_url(), "provider simulator listening");
    tokio::signal::ctrl_c().await?;
    sim.shutdown();
    Ok(())
}
