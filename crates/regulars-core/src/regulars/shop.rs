//! The shop's own settings: its name, the currency and locale the till
//! shows money, dates and numbers in, and the points program on or off.
//! Chosen on the first run (with the owner's PIN), changed later by the
//! owner only.
//!
//! Owns: validation of those values (parsed once here) and where they are
//! kept (the `settings` table). Does not own: formatting (the UI formats
//! with the platform's Intl for the locale and currency given), or what
//! the loyalty program does (`crate::loyalty`).

use super::Regulars;
use crate::loyalty::Program;
use crate::model::{Session, StoreSettings};
use crate::store::audit::audit;
use crate::store::set_setting;
use crate::{Error, Result};

pub(crate) const CURRENCY_SETTING: &str = "currency";
pub(crate) const LOCALE_SETTING: &str = "locale";
pub(crate) const DEFAULT_CURRENCY: &str = "USD";
pub(crate) const DEFAULT_LOCALE: &str = "en-US";
const NAME_MAX: usize = 80;

/// Checks and normalises what the owner typed: a name of 1-80 characters,
/// a currency of three letters (upper-cased), a locale like `en` or `en-US`.
pub fn validate(s: &StoreSettings) -> Result<StoreSettings> {
    let name = s.name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX {
        return Err(Error::invalid(
            "shop name",
            format!("type the shop's name (1 to {NAME_MAX} characters)"),
        ));
    }
    let currency = s.currency.trim().to_ascii_uppercase();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(Error::invalid(
            "currency",
            "use the three-letter code, e.g. USD, EUR, GBP, MXN".to_string(),
        ));
    }
    let locale = s.locale.trim();
    let mut parts = locale.split('-');
    let lang = parts.next().unwrap_or_default();
    let region = parts.next();
    let ok = (2..=3).contains(&lang.len())
        && lang.bytes().all(|b| b.is_ascii_lowercase())
        && region.is_none_or(|r| r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()))
        && parts.next().is_none();
    if !ok {
        return Err(Error::invalid(
            "locale",
            "use a language and region like en-US, es-MX, de-DE or fr-FR".to_string(),
        ));
    }
    Ok(StoreSettings {
        name: name.to_string(),
        currency,
        locale: locale.to_string(),
        loyalty: s.loyalty,
    })
}

impl Regulars {
    /// The shop's settings as they are now (defaults where never chosen).
    pub fn store_settings(&self) -> Result<StoreSettings> {
        let info = self.info()?;
        Ok(StoreSettings {
            name: info.name,
            currency: info.currency,
            locale: info.locale,
            loyalty: Program::load_as_saved(self.store())?.enabled,
        })
    }

    /// The owner changes the shop's settings (validated; audited).
    pub fn save_store_settings(
        &mut self,
        session: &Session,
        settings: &StoreSettings,
    ) -> Result<StoreSettings> {
        session.require_owner("change the shop's settings")?;
        let s = validate(settings)?;
        let mut program = Program::load_as_saved(self.store())?;
        program.enabled = s.loyalty;
        let json = serde_json::to_string(&program)
            .map_err(|e| Error::invalid("loyalty program", e.to_string()))?;
        let tx = self.store_mut().write()?;
        for (k, v) in [
            ("store_name", s.name.as_str()),
            (CURRENCY_SETTING, s.currency.as_str()),
            (LOCALE_SETTING, s.locale.as_str()),
            (crate::loyalty::PROGRAM_SETTING, json.as_str()),
        ] {
            set_setting(&tx, k, v)?;
        }
        audit(
            &tx,
            Some(session.staff_id()),
            "settings",
            None,
            &format!(
                "currency={} locale={} loyalty={}",
                s.currency, s.locale, s.loyalty
            ),
        )?;
        tx.commit()?;
        Ok(s)
    }
}
