//! `luna`: the going-out backend. Subcommands: serve, seed, migrate, config.

mod cmd;
mod logging;
mod settings;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Luna: find venues, find friends to go with, make a plan, and an agent books it.
#[derive(Debug, Parser)]
#[command(name = "luna", version, about)]
struct Cli {
    /// A TOML settings file (default: ./luna.toml when it exists).
    #[arg(long, global = true, env = "LUNA_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API, its docs and the dashboard.
    Serve(cmd::serve::ServeArgs),
    /// Generate a realistic city (venues, users, friendships, interactions, plans) into the database.
    Seed(cmd::seed::SeedArgs),
    /// Apply database migrations and exit.
    Migrate(cmd::migrate::MigrateArgs),
    /// Print the effective settings (secrets hidden), or an example settings file.
    Config(cmd::config::ConfigArgs),
    /// Run the simulator headless: personas and scenarios driving the real services.
    Simulate(cmd::simulate::SimulateArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = settings::Settings::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve(args) => cmd::serve::run(settings, args).await,
        Command::Seed(args) => cmd::seed::run(settings, args).await,
        Command::Migrate(args) => cmd::migrate::run(settings, args).await,
        Command::Config(args) => cmd::config::run(settings, args),
        Command::Simulate(args) => cmd::simulate::run(settings, args).await,
    }
}
