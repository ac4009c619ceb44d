//! Commands for staff sessions and the owner's back office. Same rule as
//! the till's commands: take the state, call one `Regulars` method, map the
//! error. The one thing added here is the session: `unlock` keeps it in
//! the shell (the UI never holds a PIN or a session it could forge), and
//! every back-office command takes it from there, so a page that was
//! never unlocked, or was locked again, gets `owner_only`.

use std::path::PathBuf;
use std::sync::Mutex;

use regulars_core::ids::{CustomerId, HouseholdId, MergeId, NoteId, StaffId};
use regulars_core::model::{
    ApiError, AuditEntry, BackupReport, CampaignDraft, CampaignInfo, CampaignPreview, ContactItem,
    ContactOutcome, CustomerEdit, Dashboard, DashboardChart, DuplicatePair, ErasureReport,
    Household, MergeReceipt, OfferResults, OverdueCustomer, Profile, Role, SegmentReport, Session,
    StaffMember, StoreSettings, Viewer,
};

use regulars_core::ErrorCode;

use crate::sync::SyncState;
use crate::{parse_id, AppState, CmdResult};

/// Month-end snapshots the segments chart shows.
const SEGMENT_MONTHS: u32 = 12;

/// Who is unlocked on this till right now, if anyone.
#[derive(Default)]
pub struct SessionState(Mutex<Option<Session>>);

impl SessionState {
    fn set(&self, s: Option<Session>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = s;
    }

    /// The owner's session, or `owner_only` telling the UI to ask for the PIN.
    pub(crate) fn owner(&self) -> CmdResult<Session> {
        match &*self.0.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(s) if s.role() == Role::Owner => Ok(s.clone()),
            _ => Err(ApiError {
                code: ErrorCode::OwnerOnly,
                message: "the back office is locked; unlock it with the owner's PIN".into(),
            }),
        }
    }

    /// Whose view of a profile the till shows: a cashier's unless someone
    /// is unlocked (then theirs).
    pub fn viewer(&self) -> Viewer {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map_or(Viewer::Staff, Session::viewer)
    }
}

type State<'a, T> = tauri::State<'a, T>;

#[tauri::command]
pub async fn staff_members(state: State<'_, AppState>) -> CmdResult<Vec<StaffMember>> {
    Ok(state.get()?.staff()?)
}

#[tauri::command]
pub async fn unlock(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
    staff_id: String,
    pin: String,
) -> CmdResult<Session> {
    // A wrong PIN also ends any earlier session: the till is not left
    // unlocked by someone else while a person fails at the keypad.
    session.set(None);
    let s = state.get()?.unlock(parse_id::<StaffId>(&staff_id)?, &pin)?;
    session.set(Some(s.clone()));
    Ok(s)
}

#[tauri::command]
pub async fn needs_owner_setup(state: State<'_, AppState>) -> CmdResult<bool> {
    Ok(state.get()?.needs_owner_setup()?)
}

/// First run of an empty store: creates the owner and unlocks as them.
#[tauri::command]
pub async fn set_up_owner(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
    name: String,
    pin: String,
) -> CmdResult<Session> {
    let s = state.get()?.set_up_owner(&name, &pin)?;
    session.set(Some(s.clone()));
    Ok(s)
}

#[tauri::command]
pub async fn lock(session: State<'_, SessionState>) -> CmdResult<()> {
    session.set(None);
    Ok(())
}

#[tauri::command]
pub async fn dashboard(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
    from: String,
    to: String,
    utc_offset_minutes: i32,
) -> CmdResult<Dashboard> {
    session.owner()?;
    Ok(state.get()?.dashboard(&from, &to, utc_offset_minutes)?)
}

#[tauri::command]
pub async fn export_dashboard_chart(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
    chart: DashboardChart,
    from: String,
    to: String,
    utc_offset_minutes: i32,
) -> CmdResult<String> {
    let s = session.owner()?;
    let path =
        state
            .get()?
            .export_dashboard_chart_file(&s, &from, &to, utc_offset_minutes, chart)?;
    Ok(display(path))
}

#[tauri::command]
pub async fn offer_results(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
    from: String,
    to: String,
) -> CmdResult<OfferResults> {
    session.owner()?;
    Ok(state.get()?.offer_results(&from, &to)?)
}

#[tauri::command]
pub async fn segments(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
    as_of: Option<String>,
) -> CmdResult<SegmentReport> {
    session.owner()?;
    Ok(state.get()?.segments(as_of.as_deref(), SEGMENT_MONTHS)?)
}

#[tauri::command]
pub async fn overdue(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
    as_of: Option<String>,
    limit: usize,
) -> CmdResult<Vec<OverdueCustomer>> {
    session.owner()?;
    Ok(state.get()?.overdue(as_of.as_deref(), limit.min(500))?)
}

#[tauri::command]
pub async fn contact_list(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
) -> CmdResult<Vec<ContactItem>> {
    session.owner()?;
    Ok(state.get()?.contact_list(None)?)
}

#[tauri::command]
pub async fn record_contact_outcome(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
    customer_id: String,
    reason_key: String,
    outcome: ContactOutcome,
) -> CmdResult<()> {
    let s = session.owner()?;
    Ok(state.get()?.record_contact_outcome(
        parse_id::<CustomerId>(&customer_id)?,
        &reason_key,
        outcome,
        Some(&s.staff_id().to_string()),
    )?)
}

#[tauri::command]
pub async fn export_contacts(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
) -> CmdResult<String> {
    let s = session.owner()?;
    Ok(display(state.get()?.export_contacts_file(&s, None)?))
}

#[tauri::command]
pub async fn duplicate_pairs(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
    limit: usize,
) -> CmdResult<Vec<DuplicatePair>> {
    session.owner()?;
    Ok(state.get()?.duplicate_pairs(limit.min(200))?)
}

#[tauri::command]
pub async fn dismiss_duplicate(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
    a: String,
    b: String,
) -> CmdResult<()> {
    session.owner()?;
    Ok(state
        .get()?
        .dismiss_duplicate(parse_id::<CustomerId>(&a)?, parse_id::<CustomerId>(&b)?)?)
}

#[tauri::command]
pub async fn merge_customers(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
    sync: State<'_, SyncState>,
    survivor_id: String,
    merged_id: String,
) -> CmdResult<MergeReceipt> {
    let s = session.owner()?;
    let out = state.get()?.merge_customers(
        &s,
        parse_id::<CustomerId>(&survivor_id)?,
        parse_id::<CustomerId>(&merged_id)?,
    )?;
    sync.changed();
    Ok(out)
}

#[tauri::command]
pub async fn undo_merge(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
    sync: State<'_, SyncState>,
    merge_id: String,
) -> CmdResult<Profile> {
    let s = session.owner()?;
    let out = state
        .get()?
        .undo_merge(&s, parse_id::<MergeId>(&merge_id)?)?;
    sync.changed();
    Ok(out)
}

#[tauri::command]
pub async fn update_customer(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
    sync: State<'_, SyncState>,
    id: String,
    edit: CustomerEdit,
) -> CmdResult<Profile> {
    session.owner()?;
    let out = state
        .get()?
        .update_customer(parse_id::<CustomerId>(&id)?, &edit)?;
    sync.changed();
    Ok(out)
}

#[tauri::command]
pub async fn create_household(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
    sync: State<'_, SyncState>,
    name: String,
    members: Vec<String>,
) -> CmdResult<Household> {
    session.owner()?;
    let members = members
        .iter()
        .map(|m| parse_id::<CustomerId>(m))
        .collect::<CmdResult<Vec<_>>>()?;
    let out = state.get()?.create_household(&name, &members)?;
    sync.changed();
    Ok(out)
}

#[tauri::command]
pub async fn set_household(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
    sync: State<'_, SyncState>,
    customer_id: String,
    household_id: Option<String>,
) -> CmdResult<Profile> {
    session.owner()?;
    let household = household_id
        .as_deref()
        .map(parse_id::<HouseholdId>)
        .transpose()?;
    let out = state
        .get()?
        .set_household(parse_id::<CustomerId>(&customer_id)?, household)?;
    sync.changed();
    Ok(out)
}

#[tauri::command]
pub async fn retire_note(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
    sync: State<'_, SyncState>,
    note_id: String,
) -> CmdResult<()> {
    session.owner()?;
    state.get()?.retire_note(parse_id::<NoteId>(&note_id)?)?;
    sync.changed();
    Ok(())
}

#[tauri::command]
pub async fn export_customer(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
    id: String,
) -> CmdResult<String> {
    let s = session.owner()?;
    Ok(display(
        state
            .get()?
            .export_customer_file(&s, parse_id::<CustomerId>(&id)?)?,
    ))
}

#[tauri::command]
pub async fn erase_customer(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
    sync: State<'_, SyncState>,
    id: String,
) -> CmdResult<ErasureReport> {
    let s = session.owner()?;
    let out = state
        .get()?
        .erase_customer(&s, parse_id::<CustomerId>(&id)?)?;
    sync.changed();
    Ok(out)
}

#[tauri::command]
pub async fn audit_log(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
    limit: usize,
) -> CmdResult<Vec<AuditEntry>> {
    let s = session.owner()?;
    Ok(state.get()?.audit_log(&s, limit.min(1000))?)
}

#[tauri::command]
pub async fn add_staff(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
    name: String,
    role: Role,
    pin: String,
) -> CmdResult<StaffMember> {
    let s = session.owner()?;
    Ok(state.get()?.add_staff(&s, &name, role, &pin)?)
}

#[tauri::command]
pub async fn set_pin(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
    staff_id: String,
    pin: String,
) -> CmdResult<()> {
    let s = session.owner()?;
    Ok(state
        .get()?
        .set_pin(&s, parse_id::<StaffId>(&staff_id)?, &pin)?)
}

#[tauri::command]
pub async fn backup_now(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
) -> CmdResult<BackupReport> {
    let s = session.owner()?;
    Ok(state.get()?.backup_now(&s)?)
}

/// Where the daily backups go (the chosen folder, else beside the store).
#[tauri::command]
pub async fn backup_folder(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
) -> CmdResult<Option<String>> {
    session.owner()?;
    Ok(state.get()?.backup_folder()?.map(display))
}

#[tauri::command]
pub async fn set_backup_folder(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
    folder: String,
) -> CmdResult<()> {
    let s = session.owner()?;
    Ok(state
        .get()?
        .set_backup_folder(&s, std::path::Path::new(folder.trim()))?)
}

fn display(p: PathBuf) -> String {
    p.display().to_string()
}

#[tauri::command]
pub async fn list_campaigns(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
) -> CmdResult<Vec<CampaignInfo>> {
    session.owner()?;
    Ok(state.get()?.list_campaigns()?)
}

#[tauri::command]
pub async fn save_campaign(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
    draft: CampaignDraft,
) -> CmdResult<CampaignDraft> {
    session.owner()?;
    Ok(state.get()?.save_campaign(&draft)?)
}

/// Who the campaign would reach today, by the till's own rule.
#[tauri::command]
pub async fn preview_campaign(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
    draft: CampaignDraft,
) -> CmdResult<CampaignPreview> {
    session.owner()?;
    Ok(state.get()?.preview_campaign(&draft, None)?)
}

/// The shop's name, currency, locale and loyalty switch (for the owner's form).
#[tauri::command]
pub async fn store_settings(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
) -> CmdResult<StoreSettings> {
    session.owner()?;
    Ok(state.get()?.store_settings()?)
}

#[tauri::command]
pub async fn save_store_settings(
    state: State<'_, AppState>,
    session: State<'_, SessionState>,
    settings: StoreSettings,
) -> CmdResult<StoreSettings> {
    let s = session.owner()?;
    Ok(state.get()?.save_store_settings(&s, &settings)?)
}
