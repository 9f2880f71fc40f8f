//! `luna outbox`: the outbox's dead letters, the rows the relay set aside because it could not
//! publish them at all (their payload not JSON, their channel unknown). `dead` lists them as
//! stored (a table, or `--json`), a page at a time; `redrive` sends some (`--id`) or all
//! (`--all`) back to the relay, which publishes them in id order (or sets aside again, with its
//! reason, one that still cannot be published). Both refuse a data dir without a database.

use std::fmt::Write as _;

use anyhow::Context;
use domain::{Id, PageRequest};
use store::DeadLetter;

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct OutboxArgs {
    #[command(subcommand)]
    pub command: OutboxCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum OutboxCommand {
    /// List the dead letters (rows the relay set aside) in id order, oldest first.
    Dead(DeadArgs),
    /// Send dead letters back to the relay, to be published again; prints how many.
    Redrive(RedriveArgs),
}

#[derive(Debug, clap::Args)]
pub struct DeadArgs {
    #[command(flatten)]
    pub store: super::StoreArgs,
    /// How many to list, 1 to 500.
    #[arg(long, default_value_t = domain::page::DEFAULT_LIMIT,
        value_parser = clap::value_parser!(u32).range(1..=i64::from(domain::page::MAX_LIMIT)))]
    pub limit: u32,
    /// List those after this id (the next page, as the previous one says).
    #[arg(long, value_parser = outbox_id)]
    pub after: Option<Id>,
    /// Print JSON (every field, payloads whole) instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["all", "ids"])))]
pub struct RedriveArgs {
    #[command(flatten)]
    pub store: super::StoreArgs,
    /// Send back every dead letter.
    #[arg(long)]
    pub all: bool,
    /// Send back this one (repeat for more); ids of rows not set aside are passed over, and how
    /// many were is said on stderr.
    #[arg(long = "id", value_name = "ID", value_parser = outbox_id)]
    pub ids: Vec<Id>,
}

/// An outbox row's id as `dead` lists it; anything else is refused saying so (the UUID
/// parser's own words, "invalid length: found 2", name neither the id nor its form).
fn outbox_id(s: &str) -> Result<Id, String> {
    s.trim().parse().map_err(|_| {
        format!("not an outbox id: `{s}` (ids are UUIDs, such as 0192f4e1-7c3a-7b4e-9a2f-3c5d6e7f8a9b, as `luna outbox dead` lists them)")
    })
}

pub async fn run(mut settings: Settings, args: OutboxArgs) -> anyhow::Result<()> {
    crate::logging::init_batch();
    match args.command {
        OutboxCommand::Dead(args) => {
            args.store.apply(&mut settings);
            let store = super::open_existing_store(&settings).await?;
            let page = PageRequest { limit: args.limit, after: args.after };
            let page = store.dead_letters(page).await.context("reading the dead letters")?;
            if args.json {
                let listing = Listing { dead_letters: &page.items, next: page.next };
                println!("{}", serde_json::to_string_pretty(&listing)?);
            } else {
                print!("{}", table(&page.items, page.next));
            }
            Ok(())
        }
        OutboxCommand::Redrive(args) => {
            args.store.apply(&mut settings);
            let store = super::open_existing_store(&settings).await?;
            let ids = (!args.all).then_some(args.ids.as_slice());
            let n = store.redrive_dead_letters(ids).await.context("sending the dead letters back")?;
            println!("redriven: {n}");
            // Passed over, as documented, but said: a mistyped or stale id must not pass for done.
            let asked = args.ids.iter().collect::<std::collections::BTreeSet<_>>().len() as u64;
            if !args.all && n < asked {
                eprintln!(
                    "{} of the {asked} ids asked for named no dead letter and were passed over (sent back already, or \
                     never set aside): `luna outbox dead` lists the dead letters.",
                    asked - n
                );
            }
            if n > 0 {
                eprintln!(
                    "They are pending again: a running server's relay takes them at its next pass, within a second."
                );
            }
            Ok(())
        }
    }
}

/// What `dead --json` prints: a page, and the id to pass as `--after` for the next one.
#[derive(serde::Serialize)]
struct Listing<'a> {
    dead_letters: &'a [DeadLetter],
    next: Option<Id>,
}

/// Longest payload the table shows; `--json` shows it whole.
const PAYLOAD_SHOWN: usize = 60;

/// The dead letters as a table, and where the next page starts.
fn table(letters: &[DeadLetter], next: Option<Id>) -> String {
    if letters.is_empty() {
        return "No dead letters.\n".into();
    }
    let head = ["id", "created_at", "dead_at", "channel", "event_type", "reason", "payload"].map(String::from);
    let rows: Vec<[String; 7]> = letters
        .iter()
        .map(|d| {
            [
                d.id.to_string(),
                domain::time::written(&d.created_at),
                domain::time::written(&d.dead_at),
                d.channel.clone(),
                d.event_type.clone(),
                d.dead_reason.clone().unwrap_or_default(),
                shorten(&d.payload, PAYLOAD_SHOWN),
            ]
        })
        .collect();
    let mut widths = head.clone().map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&head).chain(&rows) {
        let line: Vec<String> = row.iter().zip(widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    match next {
        Some(after) => {
            let _ = writeln!(out, "{} shown; more follow: the same command with --after {after}", rows.len());
        }
        None => {
            let _ = writeln!(out, "{} dead letter(s).", rows.len());
        }
    }
    out
}

/// `text` on one line, cut to `max` characters with an ellipsis.
fn shorten(text: &str, max: usize) -> String {
    let flat: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max - 1).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(payload: &str) -> DeadLetter {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-03T09:00:00.120500Z").unwrap().to_utc();
        DeadLetter {
            id: uuid::Uuid::nil(),
            channel: "nowhere".into(),
            event_type: "data.reset".into(),
            payload: payload.into(),
            created_at: at,
            dead_at: at,
            dead_reason: Some("unknown channel \"nowhere\"".into()),
        }
    }

    #[test]
    fn the_table_lines_up_its_columns_and_says_where_the_next_page_starts() {
        let long = format!("{{\"note\": \"{}\"}}", "x".repeat(100));
        let text = table(&[letter("{}"), letter(&long)], Some(uuid::Uuid::nil()));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("id "), "{text}");
        let payload_at = lines[0].find("payload").unwrap();
        assert_eq!(&lines[1][payload_at..], "{}");
        assert_eq!(lines[2][payload_at..].chars().count(), PAYLOAD_SHOWN, "{text}");
        assert!(lines[2].ends_with('…'), "{text}");
        assert!(lines[3].ends_with(&format!("--after {}", uuid::Uuid::nil())), "{text}");
        assert_eq!(table(&[], None), "No dead letters.\n");
    }

    #[test]
    fn the_table_writes_times_as_the_api_does() {
        // They were cut to the second (`2026-12-03T09:00:00Z`), so the table and the API's
        // `/admin/dead-letters` gave one letter two times.
        let text = table(&[letter("{}")], None);
        let row = text.lines().nth(1).expect("a row");
        assert_eq!(row.matches("2026-12-03T09:00:00.120500Z").count(), 2, "{text}");
    }
}
