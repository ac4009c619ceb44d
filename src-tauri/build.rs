//! Generates the app-command permissions so capabilities/default.json can
//! grant exactly the commands the UI uses and nothing else.

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(regulars_commands())),
    )
    .expect("failed to run tauri-build");
}

/// Keep in sync with `generate_handler!` in src/lib.rs and with
/// capabilities/default.json (a test in src/lib.rs checks all three).
fn regulars_commands() -> &'static [&'static str] {
    &[
        "store_info",
        "find_customers",
        "lookup_card",
        "customer_profile",
        "add_note",
        "check_duplicates",
        "enrol_customer",
        "attach_card",
        "card_svg",
        "scan_code",
        "find_products",
        "save_product",
        "complete_sale",
        "attach_sale_customer",
        "refund_sale",
        "recent_sales",
        "receipt_html",
        "suggestions",
        "prompt_feedback",
        "offer_feedback",
        "import_files",
        "import_progress",
        "cancel_import",
        "staff_members",
        "unlock",
        "lock",
        "dashboard",
        "export_dashboard_chart",
        "offer_results",
        "segments",
        "overdue",
        "contact_list",
        "record_contact_outcome",
        "export_contacts",
        "duplicate_pairs",
        "dismiss_duplicate",
        "merge_customers",
        "undo_merge",
        "update_customer",
        "create_household",
        "set_household",
        "retire_note",
        "export_customer",
        "erase_customer",
        "audit_log",
        "add_staff",
        "set_pin",
        "backup_now",
        "needs_owner_setup",
        "set_up_owner",
        "list_campaigns",
        "save_campaign",
        "preview_campaign",
        "diagnostics",
        "backup_folder",
        "set_backup_folder",
        "store_settings",
        "save_store_settings",
        "sync_status",
        "sync_now",
        "enroll",
    ]
}
