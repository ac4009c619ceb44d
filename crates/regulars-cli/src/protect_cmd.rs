//! `regulars backup`, `restore`, `staff`, `audit`, `export-customer`,
//! `erase` and `bench pin`: the "protect" use cases from the command line.
//!
//! Owner actions need the owner's PIN: `--as NAME` picks the person and the
//! PIN comes from `REGULARS_PIN` (an environment variable, not an argument,
//! so it does not show in the process list or shell history). Backup and
//! restore need no PIN here: whoever can run this can already copy the file.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use regulars_core::model::{Role, Session};
use regulars_core::Regulars;

#[derive(Subcommand)]
pub enum StaffCmd {
    /// Who can unlock the till.
    List,
    /// First run: create the owner (PIN from REGULARS_PIN).
    SetupOwner {
        #[arg(long)]
        name: String,
    },
    /// Add a cashier or owner (as the owner; new PIN from REGULARS_NEW_PIN).
    Add {
        #[arg(long = "as")]
        as_name: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "cashier")]
        role: String,
    },
    /// Set someone's PIN and lift a lock-out (as the owner, or yourself;
    /// new PIN from REGULARS_NEW_PIN).
    SetPin {
        #[arg(long = "as")]
        as_name: String,
        /// Whose PIN (default: your own).
        #[arg(long)]
        name: Option<String>,
    },
}

fn env_pin(var: &str) -> Result<String> {
    std::env::var(var).with_context(|| format!("set {var} to the PIN (4 to 6 digits)"))
}

/// Unlocks as the staff member called `name` with the PIN in REGULARS_PIN.
pub fn session(r: &mut Regulars, name: &str) -> Result<Session> {
    let pin = env_pin("REGULARS_PIN")?;
    let id = staff_id(r, name)?;
    Ok(r.unlock(id, &pin)?)
}

fn staff_id(r: &Regulars, name: &str) -> Result<regulars_core::ids::StaffId> {
    let all = r.staff()?;
    let found: Vec<_> = all
        .iter()
        .filter(|s| s.name.eq_ignore_ascii_case(name.trim()))
        .collect();
    match found.as_slice() {
        [one] => Ok(one.id),
        [] => bail!(
            "no staff member is called '{name}'; `regulars staff list` shows the names (on a new store, `regulars staff setup-owner` first)"
        ),
        _ => bail!("several staff members are called '{name}'; rename one in the app"),
    }
}

pub fn staff(db: &Path, cmd: StaffCmd) -> Result<()> {
    let mut r = Regulars::open(db).with_context(|| format!("opening {}", db.display()))?;
    match cmd {
        StaffCmd::List => {
            for s in r.staff()? {
                println!(
                    "{:<24} {:<8} {}{}",
                    s.name,
                    s.role.as_str(),
                    s.id,
                    s.locked_until
                        .map(|t| format!("  locked until {t}"))
                        .unwrap_or_default()
                );
            }
        }
        StaffCmd::SetupOwner { name } => {
            let s = r.set_up_owner(&name, &env_pin("REGULARS_PIN")?)?;
            println!("owner {} set up (id {})", s.name(), s.staff_id());
        }
        StaffCmd::Add {
            as_name,
            name,
            role,
        } => {
            let role = Role::parse(&role)
                .with_context(|| format!("role '{role}' is neither owner nor cashier"))?;
            let s = session(&mut r, &as_name)?;
            let m = r.add_staff(&s, &name, role, &env_pin("REGULARS_NEW_PIN")?)?;
            println!("added {} ({}) id {}", m.name, m.role.as_str(), m.id);
        }
        StaffCmd::SetPin { as_name, name } => {
            let s = session(&mut r, &as_name)?;
            let whose = match name {
                Some(n) => staff_id(&r, &n)?,
                None => s.staff_id(),
            };
            r.set_pin(&s, whose, &env_pin("REGULARS_NEW_PIN")?)?;
            println!("PIN set");
        }
    }
    Ok(())
}

pub fn backup(db: &Path, dest: &Path) -> Result<()> {
    let mut r = Regulars::open(db).with_context(|| format!("opening {}", db.display()))?;
    let t = Instant::now();
    let rep = r.backup_to(None, dest)?;
    println!(
        "backed up {} customers, {} sales ({:.1} MB) to {} in {:.1} s",
        rep.customers,
        rep.sales,
        rep.bytes as f64 / 1e6,
        rep.path,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

pub fn restore(db: &Path, src: &Path) -> Result<()> {
    let t = Instant::now();
    let rep = Regulars::restore(None, src, db)?;
    println!(
        "restored {} ({} customers, {} sales) from {}; the replaced file is kept as {}.before-restore ({:.1} s)",
        rep.path,
        rep.customers,
        rep.sales,
        src.display(),
        db.display(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

pub fn audit(db: &Path, as_name: &str, limit: usize, json: bool) -> Result<()> {
    let mut r = Regulars::open(db).with_context(|| format!("opening {}", db.display()))?;
    let s = session(&mut r, as_name)?;
    for a in r.audit_log(&s, limit)? {
        if json {
            println!("{}", serde_json::to_string(&a)?);
        } else {
            println!(
                "{}  {:<12} {:<12} {:<36} {}",
                a.at,
                a.staff_name.as_deref().unwrap_or("-"),
                a.action,
                a.subject_id.as_deref().unwrap_or(""),
                a.detail
            );
        }
    }
    Ok(())
}

/// The sync conflict log (values that lost to a later write elsewhere).
pub fn conflicts(db: &Path, as_name: &str, limit: usize, json: bool) -> Result<()> {
    let mut r = Regulars::open(db).with_context(|| format!("opening {}", db.display()))?;
    let s = session(&mut r, as_name)?;
    for c in r.sync_conflicts(&s, limit)? {
        if json {
            println!("{}", serde_json::to_string(&c)?);
        } else {
            println!(
                "{}  {} {} {}: kept {} / lost {} (written {} on {})",
                c.noted_at,
                c.entity,
                c.entity_id,
                c.field,
                c.kept.as_deref().unwrap_or("-"),
                c.lost.as_deref().unwrap_or("-"),
                c.lost_at,
                c.lost_device
            );
        }
    }
    Ok(())
}

pub fn export_customer(db: &Path, as_name: &str, who: &str, out: Option<PathBuf>) -> Result<()> {
    let mut r = Regulars::open(db).with_context(|| format!("opening {}", db.display()))?;
    let s = session(&mut r, as_name)?;
    let id = r.resolve(who)?;
    let json = r.export_customer(&s, id)?;
    match out {
        Some(p) => {
            std::fs::write(&p, &json).with_context(|| format!("writing {}", p.display()))?;
            println!("wrote {} ({} bytes)", p.display(), json.len());
        }
        None => println!("{json}"),
    }
    Ok(())
}

pub fn erase(db: &Path, as_name: &str, who: &str) -> Result<()> {
    let mut r = Regulars::open(db).with_context(|| format!("opening {}", db.display()))?;
    let s = session(&mut r, as_name)?;
    let id = r.resolve(who)?;
    let t = Instant::now();
    let rep = r.erase_customer(&s, id)?;
    let deleted: Vec<String> = rep
        .deleted
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    println!(
        "erased customer {}: deleted {}; {} sales kept anonymous; {} sync changes scrubbed; {:.1} s",
        rep.customer_id,
        deleted.join(", "),
        rep.sales_anonymised,
        rep.outbox_scrubbed,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Times one unlock with the production PIN cost (hash verify + the
/// bookkeeping write), on a scratch store.
pub fn bench_pin(rounds: usize) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("regulars-bench-pin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut r = Regulars::open(&dir.join("pin.db"))?;
    let t = Instant::now();
    let owner = r.set_up_owner("Bench", "1234")?;
    let hash_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut ms = Vec::with_capacity(rounds);
    for _ in 0..rounds.max(1) {
        let t = Instant::now();
        r.unlock(owner.staff_id(), "1234")?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    let cost = regulars_core::staff::PinCost::DEFAULT;
    println!(
        "PIN unlock, Argon2id m={} MiB t={} p=1, {} rounds: median {:.0} ms, max {:.0} ms (set-up incl. hash {:.0} ms)",
        cost.memory_kib / 1024,
        cost.iterations,
        ms.len(),
        ms[ms.len() / 2],
        ms[ms.len() - 1],
        hash_ms
    );
    drop(r);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
