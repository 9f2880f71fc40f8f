//! `luna check`: opens the database (running migrations, so it also proves a file left by a
//! killed process opens cleanly), checks the stored data's invariants and prints a JSON report.
//! Exits non-zero when any invariant is broken.

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub store: super::StoreArgs,
}

pub async fn run(mut settings: Settings, args: CheckArgs) -> anyhow::Result<()> {
    args.store.apply(&mut settings);
    crate::logging::init_batch();
    let store = super::open_existing_store(&settings).await?;
    let violations = store.check_invariants().await.map_err(|e| anyhow::anyhow!("checking the data: {e}"))?;
    let counts = store.counts().await.map_err(|e| anyhow::anyhow!("counting rows: {e}"))?;
    let report = serde_json::json!({
        "ok": violations.is_empty(),
        "violations": violations,
        "counts": {"users": counts.users, "venues": counts.venues, "interactions": counts.interactions,
            "plans": counts.plans, "bookings": counts.bookings, "outbox_pending": counts.outbox_pending,
            "outbox_dead": counts.outbox_dead},
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    anyhow::ensure!(violations.is_empty(), "{} invariant(s) broken", violations.len());
    Ok(())
}
