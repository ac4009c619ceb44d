//! The owner's export files: written to the exports folder beside the
//! store, private to this user, never overwriting, audited; a cashier is
//! refused and nothing is written.

use regulars_core::model::{DashboardChart, NewCustomer, Role};
use regulars_core::staff::PinCost;
use regulars_core::{ErrorCode, Regulars};

#[test]
fn exports_land_in_the_folder_private_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Regulars::open(&dir.path().join("s.db"))
        .unwrap()
        .with_pin_cost(PinCost::FAST_FOR_TESTS);
    let boss = r.set_up_owner("Olive", "2468").unwrap();
    let c = r
        .enrol(&NewCustomer {
            given_name: "Ada".into(),
            family_name: "Byron".into(),
            marketing_consent: true,
            ..Default::default()
        })
        .unwrap()
        .summary
        .id;

    let a = r.export_contacts_file(&boss, None).unwrap();
    let b = r.export_contacts_file(&boss, None).unwrap();
    assert_ne!(
        a, b,
        "a second export in the same second must not overwrite the first"
    );
    assert_eq!(a.parent().unwrap(), dir.path().join("exports"));
    let csv = std::fs::read_to_string(&a).unwrap();
    assert!(csv.lines().next().unwrap().contains("email"), "{csv}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&a).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let chart = r
        .export_dashboard_chart_file(
            &boss,
            "2026-01-01",
            "2026-01-31",
            0,
            DashboardChart::RevenueTrend,
        )
        .unwrap();
    assert!(chart
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("revenue-trend-"));
    let json = r.export_customer_file(&boss, c).unwrap();
    assert!(std::fs::read_to_string(json).unwrap().contains("Byron"));
    let exports = r
        .audit_log(&boss, 20)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "export")
        .count();
    assert_eq!(exports, 4);

    let cashier = r.add_staff(&boss, "Sam", Role::Cashier, "1357").unwrap();
    let sam = r.unlock(cashier.id, "1357").unwrap();
    let files = std::fs::read_dir(dir.path().join("exports"))
        .unwrap()
        .count();
    assert_eq!(
        r.export_contacts_file(&sam, None).unwrap_err().code(),
        ErrorCode::OwnerOnly
    );
    assert_eq!(
        r.export_customer_file(&sam, c).unwrap_err().code(),
        ErrorCode::OwnerOnly
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("exports"))
            .unwrap()
            .count(),
        files
    );
}
