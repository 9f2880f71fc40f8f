//! `luna migrate`: applies the database migrations and exits.

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub store: super::StoreArgs,
}

pub async fn run(mut settings: Settings, args: MigrateArgs) -> anyhow::Result<()> {
    args.store.apply(&mut settings);
    crate::logging::init_batch();
    let store = super::open_store(&settings).await?;
    store.migrate().await.map_err(|e| anyhow::anyhow!("migrating: {e}"))?;
    println!("migrations applied ({:?} at {})", store.backend(), crate::settings::redact_url(&settings.database_url()));
    Ok(())
}
