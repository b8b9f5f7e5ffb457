//! The sled tables against the in-memory ones, and the move from the tree-per-table layout.

use netpulse_engine::fixtures::{exercise, test_monitor};
use netpulse_engine::model::Monitor;
use netpulse_engine::state::State;
use netpulse_engine::tables::{MemTables, Table};

use super::StateStore;

fn sled_store() -> (tempfile::TempDir, sled::Db, StateStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = sled::open(dir.path()).expect("sled");
    let store = StateStore::open(&db).expect("store");
    (dir, db, store)
}

/// The same log leaves the same state on sled as in memory: the seam hides nothing the rules
/// depend on (order, prefix scans, reverse scans, read-your-writes inside a command).
#[test]
fn one_log_gives_the_same_state_in_memory_and_on_sled() {
    let mem = State::open(MemTables::new()).expect("open");
    let log = exercise(&mem).expect("exercise");
    let (_dir, _db, store) = sled_store();
    for (i, cmd) in log.iter().enumerate() {
        store.apply(cmd, i as u64 + 1).expect("apply");
    }
    // The scenario reached the parts worth comparing.
    let incidents = mem.incidents(10, |_| true).expect("incidents");
    assert!(incidents.len() >= 2, "an automatic and a manual incident");
    assert!(!mem.results("mon_a", None, 100).expect("results").is_empty());
    assert!(
        incidents.iter().any(|i| !i.notifications.is_empty()),
        "notifications were created (and delivered)"
    );
    assert_eq!(
        mem.export().expect("export"),
        store.export().expect("export"),
        "replicas on different tables diverged"
    );
}

/// A data directory of a coordinator that kept a tree per table opens with every row in
/// place and the old trees gone.
#[test]
fn the_tree_per_table_layout_is_moved_into_one_tree() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let db = sled::open(dir.path()).expect("sled");
        let m: Monitor = test_monitor("mon_old", &["eu"]);
        db.open_tree("sm_monitors")
            .expect("tree")
            .insert("mon_old", serde_json::to_vec(&m).expect("json"))
            .expect("insert");
        // Placement in its oldest shape too: a JSON list per node, upgraded on open.
        db.open_tree("sm_placement")
            .expect("tree")
            .insert("n1", serde_json::to_vec(&["mon_old"]).expect("json"))
            .expect("insert");
        db.flush().expect("flush");
    }
    let db = sled::open(dir.path()).expect("sled");
    let store = StateStore::open(&db).expect("store");
    assert_eq!(
        store.monitor("mon_old").expect("read").map(|m| m.id),
        Some("mon_old".to_string())
    );
    assert!(store.is_placed("n1", "mon_old").expect("read"));
    let names = db.tree_names();
    for table in Table::ALL {
        assert!(
            !names.iter().any(|n| n.as_ref() == table.name().as_bytes()),
            "{} still there",
            table.name()
        );
    }
}

/// A snapshot replaces everything, and a reader tracking changes is told to re-read all.
#[test]
fn an_imported_snapshot_replaces_the_state_and_reports_everything() {
    let mem = State::open(MemTables::new()).expect("open");
    exercise(&mem).expect("exercise");
    let (_dir, _db, store) = sled_store();
    let tracker = store.track_changes();
    tracker.take();
    store
        .apply(
            &netpulse_engine::command::Command::PutMonitor {
                monitor: Box::new(test_monitor("mon_gone", &["eu"])),
                expect_existing: false,
            },
            1,
        )
        .expect("apply");
    store
        .import(&mem.export().expect("export"))
        .expect("import");
    assert!(store.monitor("mon_gone").expect("read").is_none());
    // Snapshots leave the name index out; installing one rebuilds it.
    let named = store.monitors_named("mon_b renamed").expect("read");
    assert_eq!(named.len(), 1, "{named:?}");
    assert_eq!(
        store.export().expect("export"),
        mem.export().expect("export")
    );
    assert!(tracker.take().all);
}
