//! The saved views suite: saving, replacing, listing by name, deleting, the bounds of
//! [`crate::views`], and projects kept apart. Run by the embedded store in
//! `crates/engine/tests/embedded.rs` (also across a reopen) and by ClickHouse (through chDB)
//! in `crates/clickhouse/tests/correlate.rs`.

use crate::views::MAX_NAME_LEN;
use crate::{SavedView, Store, StoreError};

/// The project the suite writes; [`OTHER`] must never see its views.
pub const PROJECT: &str = "views-p";
/// A second project.
pub const OTHER: &str = "views-q";

/// A view named `name` with the query `query`.
pub fn view(name: &str, query: &str) -> SavedView {
    SavedView {
        name: name.into(),
        query: query.into(),
        range: "1h".into(),
        start: String::new(),
        end: String::new(),
        columns: vec!["time".into(), "service".into(), "attr:http.route".into()],
        saved_ns: 1_700_000_000_000_000_000,
    }
}

/// Saves, replaces and deletes views of [`PROJECT`] and one of [`OTHER`], checking every
/// answer; leaves [`PROJECT`] with the views [`expected`] lists.
pub async fn run(store: &dyn Store) {
    assert_eq!(
        store.views(PROJECT).await.unwrap(),
        vec![],
        "no views at first"
    );
    store
        .save_view(PROJECT, view("slow checkouts", "name:checkout"))
        .await
        .unwrap();
    store
        .save_view(PROJECT, view("errors", "status:error"))
        .await
        .unwrap();
    store.save_view(PROJECT, view("gone", "")).await.unwrap();
    store
        .save_view(OTHER, view("errors", "service:other"))
        .await
        .unwrap();
    // Saving a name again replaces the view.
    let replaced = SavedView {
        range: String::new(),
        start: "2026-11-25T10:00:00Z".into(),
        end: "2026-11-25T11:00:00Z".into(),
        ..view("slow checkouts", "name:checkout duration>1s")
    };
    store.save_view(PROJECT, replaced).await.unwrap();
    assert!(store.delete_view(PROJECT, "gone").await.unwrap(), "deleted");
    assert!(
        !store.delete_view(PROJECT, "gone").await.unwrap(),
        "already gone"
    );
    assert!(
        !store.delete_view(OTHER, "slow checkouts").await.unwrap(),
        "not the other project's"
    );
    for bad in [
        view("", "q"),
        view(&"n".repeat(MAX_NAME_LEN + 1), "q"),
        view("a\tb", "q"),
    ] {
        let refused = store.save_view(PROJECT, bad).await;
        assert!(
            matches!(refused, Err(StoreError::InvalidArgument(_))),
            "{refused:?}"
        );
    }
    check(store).await;
    assert_eq!(
        store.views(OTHER).await.unwrap(),
        vec![view("errors", "service:other")]
    );
}

/// The views [`run`] leaves in [`PROJECT`], by name.
pub fn expected() -> Vec<SavedView> {
    vec![
        view("errors", "status:error"),
        SavedView {
            range: String::new(),
            start: "2026-11-25T10:00:00Z".into(),
            end: "2026-11-25T11:00:00Z".into(),
            ..view("slow checkouts", "name:checkout duration>1s")
        },
    ]
}

/// Checks that [`PROJECT`] holds what [`run`] left (for instance after a restart).
pub async fn check(store: &dyn Store) {
    assert_eq!(store.views(PROJECT).await.unwrap(), expected());
}
