//! Credentials of `luna serve` and `luna admin-token`: where a server may listen (`--dev` only
//! on loopback; any other address only with an admin credential the operator knows), the
//! signing secret (configured, or shared through the database), and the admin credential
//! (configured with `LUNA_ADMIN_TOKEN`, or generated on first start and printed once, like
//! Jupyter's token; `luna admin-token --rotate` prints a new one, which running servers adopt
//! within seconds).

use std::net::SocketAddr;

use anyhow::Context;

use crate::settings::Settings;

/// Refuses a `--dev` server on a non-loopback address (it would let anyone act as any user).
pub fn check_dev_bind(settings: &Settings) -> anyhow::Result<()> {
    anyhow::ensure!(
        !settings.dev || settings.bind.ip().is_loopback(),
        "refusing to start: --dev lets requests without a token act as any user, so it only runs on a \
         loopback address, and {} is not one. Bind 127.0.0.1 (--bind 127.0.0.1:8000) or drop --dev.",
        settings.bind
    );
    Ok(())
}

/// What `luna serve` checks credentials with, and the admin token when it was generated now
/// (to be printed once).
pub async fn server_auth(app: &app::App, settings: &Settings) -> anyhow::Result<(api::auth::Auth, Option<String>)> {
    let signer = match &settings.signing_secret {
        Some(secret) => {
            anyhow::ensure!(secret.len() >= 32, "signing_secret (LUNA_SIGNING_SECRET) must be 32 characters or more");
            api::auth::Signer::new(secret.as_bytes().to_vec())
        }
        None => api::auth::Signer::new(app.signing_secret().await.map_err(|e| anyhow::anyhow!("signing secret: {e}"))?),
    };
    let (hash, fresh) = match &settings.admin_token {
        Some(token) => {
            anyhow::ensure!(token.len() >= 16, "admin_token (LUNA_ADMIN_TOKEN) must be 16 characters or more");
            (app.set_admin_token(token).await.map_err(|e| anyhow::anyhow!("storing the admin token: {e}"))?, None)
        }
        None => {
            let known = app.admin_token_hash().await.map_err(|e| anyhow::anyhow!("reading the admin token: {e}"))?;
            anyhow::ensure!(
                known.is_some() || settings.bind.ip().is_loopback(),
                "refusing to start: {} is not a loopback address and no admin credential is configured. \
                 Set LUNA_ADMIN_TOKEN (setting `admin_token`, 16 characters or more), or run \
                 `luna admin-token --rotate` once and keep the token it prints.",
                settings.bind
            );
            app.init_admin_token().await.map_err(|e| anyhow::anyhow!("creating the admin token: {e}"))?
        }
    };
    let relax = settings.dev && settings.bind.ip().is_loopback();
    Ok((api::auth::Auth::new(signer, Some(hash)).relax_user_auth(relax), fresh))
}

/// The lines `luna serve` prints about the admin token once it listens on `addr`.
pub fn announce(addr: SocketAddr, fresh: Option<&str>, relaxed: bool) {
    match fresh {
        Some(token) => {
            eprintln!("Admin token (shown once, only its hash is kept): {token}");
            eprintln!("Open the dashboard with it: http://{addr}/?token={token}");
        }
        None => eprintln!(
            "Admin auth is on: use LUNA_ADMIN_TOKEN or the token printed on the first start \
             (`luna admin-token --rotate` makes a new one); the dashboard takes it as `?token=`"
        ),
    }
    if relaxed {
        eprintln!(
            "--dev on loopback: requests without a token may act as any user (admin routes still need the token)."
        );
    }
}

#[derive(Debug, clap::Args)]
pub struct AdminTokenArgs {
    /// Make a new admin token, print it, and make the old one invalid (running servers on
    /// this database switch to it within two seconds).
    #[arg(long)]
    pub rotate: bool,
    #[command(flatten)]
    pub store: super::StoreArgs,
}

/// `luna admin-token [--rotate]`.
pub async fn run(mut settings: Settings, args: AdminTokenArgs) -> anyhow::Result<()> {
    args.store.apply(&mut settings);
    // Rotating may set up a database ahead of its first `serve`; asking for the status may not.
    let store =
        if args.rotate { super::open_store(&settings).await? } else { super::open_existing_store(&settings).await? };
    let app = app::App::new(store, app::AppSettings::default());
    if args.rotate {
        let token = app::auth::random_token(24);
        app.set_admin_token(&token).await.map_err(|e| anyhow::anyhow!("storing the admin token: {e}"))?;
        println!("{token}");
        eprintln!("New admin token stored (as a hash); running servers adopt it within two seconds.");
    } else {
        let set =
            app.admin_token_hash().await.map_err(|e| anyhow::anyhow!("{e}")).context("reading the admin token")?;
        match set {
            Some(_) => println!(
                "An admin token is set (only its hash is stored). `luna admin-token --rotate` makes a new one."
            ),
            None => {
                println!("No admin token yet: the first `luna serve` makes one, or run `luna admin-token --rotate`.")
            }
        }
    }
    Ok(())
}
