//! The UI's TypeScript types are generated from the core's model with ts-rs
//! and committed under `ui/src/bindings/`. This test regenerates them into a
//! scratch folder and fails when the committed copy differs, so a change to a
//! Rust type cannot ship with stale UI types. `UPDATE_BINDINGS=1 cargo test
//! -p regulars-core --test bindings` (or `make bindings`) rewrites them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use regulars_core::card::{CardKind, CardNumber};
use regulars_core::model::*;
use regulars_core::ErrorCode;
use ts_rs::{Config, TS};

fn export_all(dir: &Path) {
    // Money in cents fits a JS number exactly (2^53 cents is far beyond any
    // shop), and serde_json writes plain numbers, so no bigint.
    let cfg = Config::new().with_out_dir(dir).with_large_int("number");
    macro_rules! export {
        ($($t:ty),* $(,)?) => { $( <$t as TS>::export_all(&cfg).expect(stringify!($t)); )* };
    }
    export!(
        ApiError,
        ErrorCode,
        CardKind,
        CardNumber,
        CustomerSummary,
        FoundCustomer,
        CardInfo,
        Visibility,
        Note,
        NewNote,
        Visit,
        VisitLine,
        Favourite,
        HouseholdMember,
        Profile,
        NewCustomer,
        DuplicateCandidate,
        StoreInfo,
        TableCount,
        SettingValue,
        Diagnostics,
        SyncStatus,
        SyncConflict,
        Product,
        ProductDraft,
        PaymentMethod,
        DraftLine,
        SaleDraft,
        SaleLine,
        Sale,
        ScanResult,
        regulars_core::import::ImportReport,
        regulars_core::import::Progress,
        PromptKind,
        Prompt,
        PromptVerdict,
        OfferKind,
        Offer,
        OfferOutcome,
        Suggestions,
        CustomerSegment,
        SegmentCount,
        SegmentSnapshot,
        SegmentReport,
        OverdueCustomer,
        PeriodTotals,
        TrendPoint,
        SegmentRevenue,
        Dashboard,
        DashboardChart,
        OfferResult,
        PromptResult,
        OfferResults,
        ContactReason,
        ContactItem,
        ContactOutcome,
        Viewer,
        NoteEdit,
        Address,
        CustomerEdit,
        Household,
        DuplicateSide,
        DuplicatePair,
        MergeReceipt,
        MovedRows,
        Role,
        Session,
        StaffMember,
        AuditEntry,
        ErasureReport,
        BackupReport,
        StoreSettings,
        CampaignDraft,
        CampaignInfo,
        CampaignPreview,
        CampaignMatch,
    );
}

fn read_dir(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "ts") {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                out.insert(name, std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn bindings_are_current() {
    let committed: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/bindings");
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        let _ = std::fs::remove_dir_all(&committed);
        std::fs::create_dir_all(&committed).unwrap();
        export_all(&committed);
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    export_all(scratch.path());
    let fresh = read_dir(scratch.path());
    let old = read_dir(&committed);
    assert!(!fresh.is_empty());
    assert_eq!(
        fresh.keys().collect::<Vec<_>>(),
        old.keys().collect::<Vec<_>>(),
        "ui/src/bindings is out of date: run `make bindings` and commit the result"
    );
    for (name, text) in &fresh {
        assert_eq!(
            Some(text),
            old.get(name),
            "ui/src/bindings/{name} is out of date: run `make bindings` and commit the result"
        );
    }
}
