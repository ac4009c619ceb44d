//! `regulars-server`: serve the sync API, or manage enrolment and devices.
//!
//!     regulars-server --data DIR [--listen 127.0.0.1:7878] [--database postgres://...]
//!                     [--tls-cert F --tls-key F] [--insecure-http]
//!     regulars-server --data DIR enroll --store NAME [--ttl-hours 24]
//!     regulars-server --data DIR devices
//!     regulars-server --data DIR revoke DEVICE_ID
//!     regulars-server bench push --tills 50 --changes 200
//!
//! Serving prints `listening on http(s)://ADDR` as the first line on stdout
//! (tests start it with port 0 and read it); logs go to stderr.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use regulars_server::backend::{Backend, PgBackend, SqliteBackend};
use regulars_server::serve::{Bound, ServeOptions};
use regulars_server::service;
use uuid::Uuid;

mod bench;

#[derive(Parser)]
#[command(
    name = "regulars-server",
    version,
    about = "Regulars central sync server"
)]
struct Cli {
    /// Data directory (holds server.db with the embedded SQLite backend).
    #[arg(long, global = true)]
    data: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7878")]
    listen: SocketAddr,
    /// Use PostgreSQL instead of the embedded SQLite store.
    #[arg(
        long,
        global = true,
        env = "REGULARS_SERVER_DATABASE",
        hide_env_values = true
    )]
    database: Option<String>,
    /// TLS certificate chain (PEM); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM); needs --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Allow plain HTTP on a non-loopback address (only behind a TLS proxy).
    #[arg(long)]
    insecure_http: bool,
    /// Set the organisation's name (shown to tills).
    #[arg(long, global = true)]
    organisation: Option<String>,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print a one-time code that enrolls one till of STORE.
    Enroll {
        #[arg(long)]
        store: String,
        #[arg(long, default_value_t = 24)]
        ttl_hours: u32,
    },
    /// List enrolled devices.
    Devices,
    /// Block a device: its token stops working at once.
    Revoke { device_id: Uuid },
    /// Benchmarks (run a release build).
    Bench {
        #[command(subcommand)]
        which: BenchCmd,
    },
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Concurrent tills pushing to a fresh server on 127.0.0.1 (SQLite in a
    /// temp dir, or the empty PostgreSQL database given with --database),
    /// then one new till pulling everything from cursor 0.
    Push {
        #[arg(long, default_value_t = 50)]
        tills: usize,
        /// Changes each till pushes.
        #[arg(long, default_value_t = 200)]
        changes: usize,
        /// Changes per push (a sale with 10 lines and a note is 2).
        #[arg(long, default_value_t = 10)]
        batch: usize,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match &cli.cmd {
        Some(Cmd::Bench { which }) => {
            let BenchCmd::Push {
                tills,
                changes,
                batch,
            } = which;
            let (tills, changes, batch) = (*tills, *changes, *batch);
            let rt = runtime()?;
            match &cli.database {
                Some(url) => {
                    let b = Arc::new(
                        PgBackend::connect(url).context("opening the PostgreSQL database")?,
                    );
                    let report = rt.block_on(bench::push(
                        Arc::clone(&b),
                        "PostgreSQL",
                        tills,
                        changes,
                        batch,
                    ))?;
                    println!("{report}");
                    // The runtime first: the PostgreSQL client must not be
                    // dropped on one of its threads.
                    drop(rt);
                    drop(b);
                }
                None => {
                    let dir = tempfile::tempdir().context("making a temp dir")?;
                    let b = Arc::new(SqliteBackend::open_dir(dir.path())?);
                    let report = rt.block_on(bench::push(b, "SQLite", tills, changes, batch))?;
                    println!("{report}");
                }
            }
            Ok(())
        }
        None => {
            init_logging();
            match &cli.database {
                Some(url) => serve(
                    &cli,
                    Arc::new(PgBackend::connect(url).context("opening the PostgreSQL database")?),
                ),
                None => serve(&cli, Arc::new(open_sqlite(&cli)?)),
            }
        }
        Some(cmd) => match &cli.database {
            Some(url) => admin(
                &cli,
                cmd,
                &PgBackend::connect(url).context("opening the PostgreSQL database")?,
            ),
            None => admin(&cli, cmd, &open_sqlite(&cli)?),
        },
    }
}

fn open_sqlite(cli: &Cli) -> Result<SqliteBackend> {
    let Some(dir) = &cli.data else {
        bail!("give --data DIR (where the server keeps server.db), or --database postgres://... for PostgreSQL");
    };
    let b = SqliteBackend::open_dir(dir)
        .with_context(|| format!("opening the server store in {}", dir.display()))?;
    Ok(b)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn init_logging() {
    // Logs go to stderr: stdout's first line is the address, for scripts.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .init();
}

fn serve<B: Backend>(cli: &Cli, backend: Arc<B>) -> Result<()> {
    if let Some(name) = &cli.organisation {
        backend.set_organisation(name)?;
    }
    let opts = ServeOptions {
        listen: cli.listen,
        tls: cli.tls_cert.clone().zip(cli.tls_key.clone()),
        insecure_http: cli.insecure_http,
    };
    let rt = runtime()?;
    let b = Arc::clone(&backend);
    rt.block_on(async move {
        let bound = Bound::bind(&opts).await?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", bound.url())?;
        out.flush()?;
        drop(out);
        tracing::info!(addr = %bound.addr(), "serving");
        bound
            .run(b, async {
                stop_signal().await;
                tracing::info!("shutting down");
            })
            .await?;
        anyhow::Ok(())
    })?;
    // The runtime goes first: the PostgreSQL client must not be dropped
    // on one of its threads.
    drop(rt);
    drop(backend);
    Ok(())
}

/// Ctrl-C or SIGTERM (a service manager stopping the server): requests in
/// flight finish, then the process exits.
async fn stop_signal() {
    let term = async {
        #[cfg(unix)]
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
            return;
        }
        std::future::pending::<()>().await
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

fn admin<B: Backend>(cli: &Cli, cmd: &Cmd, b: &B) -> Result<()> {
    if let Some(name) = &cli.organisation {
        b.set_organisation(name)?;
    }
    match cmd {
        Cmd::Enroll { store, ttl_hours } => {
            let ttl = chrono::Duration::hours(i64::from(*ttl_hours));
            let code = service::create_enroll_code(b, store, ttl, chrono::Utc::now())?;
            println!("{code}");
            eprintln!(
                "Enter this code in the till's settings within {ttl_hours} h. It works once, for one till of {store:?}."
            );
        }
        Cmd::Devices => {
            println!("number\tdevice_id\tstore\tname\tenrolled_at\tlast_seen_at\tstatus");
            for d in b.devices()? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    d.number,
                    d.id,
                    d.store_name,
                    d.name,
                    d.enrolled_at,
                    d.last_seen_at.as_deref().unwrap_or("-"),
                    d.revoked_at
                        .map_or("active".to_string(), |t| format!("revoked {t}"))
                );
            }
        }
        Cmd::Revoke { device_id } => {
            b.revoke(*device_id, chrono::Utc::now())?;
            println!("revoked {device_id}: its token no longer works");
        }
        Cmd::Bench { .. } => unreachable!("handled before a store is opened"),
    }
    Ok(())
}
