//! `luna`: the going-out backend. Subcommands: serve, seed, migrate, check, outbox, config, simulate, train, eval,
//! import, bench, admin-token.

mod cmd;
mod logging;
mod settings;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// mimalloc instead of the system allocator: request handling, event fan-out and seeding
/// allocate many small short-lived objects, where glibc's allocator was a third of the
/// server's CPU time under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Check the stored data's invariants (no overbooked slot, no orphan row); non-zero exit if broken.
    Check(cmd::check::CheckArgs),
    /// The outbox's dead letters (rows the relay could not publish): `dead` lists them, `redrive` sends them back.
    Outbox(cmd::outbox::OutboxArgs),
    /// Print the effective settings (secrets hidden), or an example settings file.
    Config(cmd::config::ConfigArgs),
    /// Run the simulator headless: personas and scenarios driving the real services.
    Simulate(cmd::simulate::SimulateArgs),
    /// Train the learned ranker on the store's interactions and write the model file.
    Train(cmd::train::TrainArgs),
    /// Evaluate every ranker on a time split of the interaction log (store or generated).
    Eval(cmd::eval::EvalArgs),
    /// Load users, venues, social edges and interactions from CSV or JSON lines files.
    Import(cmd::import::ImportArgs),
    /// Load-test the recommendation endpoints of a running server.
    Bench(cmd::bench::BenchArgs),
    /// Whether an admin token is set; `--rotate` makes and prints a new one.
    AdminToken(cmd::auth::AdminTokenArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = settings::Settings::load(cli.config.as_deref())?;
    let done = match cli.command {
        Command::Serve(args) => cmd::serve::run(settings, args).await,
        Command::Seed(args) => cmd::seed::run(settings, args).await,
        Command::Migrate(args) => cmd::migrate::run(settings, args).await,
        Command::Check(args) => cmd::check::run(settings, args).await,
        Command::Outbox(args) => cmd::outbox::run(settings, args).await,
        Command::Config(args) => cmd::config::run(settings, args),
        Command::Simulate(args) => cmd::simulate::run(settings, args).await,
        Command::Train(args) => cmd::train::run(settings, args).await,
        Command::Eval(args) => cmd::eval::run(settings, args).await,
        Command::Import(args) => cmd::import::run(settings, args).await,
        Command::Bench(args) => cmd::bench::run(settings, args).await,
        Command::AdminToken(args) => cmd::auth::run(settings, args).await,
    };
    // A usage error found after parsing ends as clap's own do: its message and status 2.
    if let Err(e) = &done
        && let Some(usage) = e.downcast_ref::<clap::Error>()
    {
        usage.exit()
    }
    done
}
