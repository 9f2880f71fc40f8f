//! `luna config`: prints the effective settings (secrets hidden) or an example file.

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    /// Print a commented example settings file with the defaults instead.
    #[arg(long)]
    pub example: bool,
}

pub fn run(settings: Settings, args: ConfigArgs) -> anyhow::Result<()> {
    if args.example {
        println!("# luna.toml: every key is optional; environment variables LUNA_<KEY> (nested with __)");
        println!("# override it, and DATABASE_URL / REDIS_URL override database_url / redis_url.");
        print!("{}", Settings::default().to_redacted_toml()?);
    } else {
        print!("{}", settings.to_redacted_toml()?);
    }
    Ok(())
}
