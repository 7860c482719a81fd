//! Fault: two openers of one data directory, either a second handle in the
//! same process or a second process. Promise (docs/FORMAT.md, "Directory
//! layout"): while one store holds the directory every other open fails
//! with `Error::Locked`, whose message names the directory, and leaves the
//! store untouched; once the holder is closed or dropped the directory
//! opens again.

use std::path::Path;
use std::process::Command;

use slowpoke::engine::{Engine, Error, FsyncPolicy, Options};

/// Set in the environment of the re-executed test binary: the directory
/// the child must try to open.
const CHILD_DIR_VAR: &str = "SLOWPOKE_DIR_LOCKED_CHILD_DIR";

fn options() -> Options {
    Options {
        fsync: FsyncPolicy::No,
        ..Options::default()
    }
}

fn assert_locked(result: slowpoke::engine::Result<Engine>, dir: &Path) {
    match result {
        Err(e @ Error::Locked { .. }) => {
            let Error::Locked { dir: named } = &e else {
                unreachable!()
            };
            assert_eq!(named, dir, "the error carries the directory");
            let msg = e.to_string();
            assert!(
                msg.contains(&dir.display().to_string()),
                "the message names the directory: {msg}"
            );
        }
        Err(e) => panic!("expected Error::Locked, got {e}"),
        Ok(_) => panic!("a second open of a locked directory succeeded"),
    }
}

#[test]
fn second_open_in_the_same_process_is_locked_and_names_the_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = Engine::open(dir.path(), options()).expect("first open");
    first.put(b"k", b"v", None).expect("put");
    assert_locked(Engine::open(dir.path(), options()), dir.path());
    // The refused opener changed nothing for the holder.
    assert_eq!(first.get(b"k").expect("get").as_deref(), Some(&b"v"[..]));
    first
        .put(b"k2", b"v2", None)
        .expect("the holder still writes");
}

#[test]
fn reopen_after_the_holder_is_dropped_sees_its_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = Engine::open(dir.path(), options()).expect("first open");
    first.put(b"k", b"v", None).expect("put");
    drop(first);
    let second = Engine::open(dir.path(), options()).expect("reopen after drop");
    assert_eq!(second.get(b"k").expect("get").as_deref(), Some(&b"v"[..]));
    second.close().expect("close");
    drop(second);
    let third = Engine::open(dir.path(), options()).expect("reopen after close and drop");
    assert_eq!(third.get(b"k").expect("get").as_deref(), Some(&b"v"[..]));
}

#[test]
fn reopen_after_close_works_while_the_closed_handle_is_alive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = Engine::open(dir.path(), options()).expect("open");
    first.put(b"k", b"v", None).expect("put");
    first.close().expect("close");
    assert!(
        matches!(first.put(b"k", b"x", None), Err(Error::Closed)),
        "a closed handle refuses writes"
    );
    let second = Engine::open(dir.path(), options()).expect("reopen after close");
    assert_eq!(second.get(b"k").expect("get").as_deref(), Some(&b"v"[..]));
    // The closed handle going away later leaves the new holder's lock alone.
    drop(first);
    assert_locked(Engine::open(dir.path(), options()), dir.path());
}

/// The child side: try to open the directory and report on stdout, on a
/// line of its own (libtest prints the test name without a newline).
fn child(dir: &Path) {
    match Engine::open(dir, options()) {
        Err(e @ Error::Locked { .. }) => println!("\nVERDICT LOCKED {e}"),
        Err(e) => println!("\nVERDICT ERROR {e}"),
        Ok(e) => {
            let seen = e.get(b"k").ok().flatten();
            println!(
                "\nVERDICT OPENED {}",
                seen.map_or("-".into(), |v| String::from_utf8_lossy(&v).into_owned())
            );
        }
    }
}

/// Runs this test binary again as a child that opens `dir`; returns the
/// line it printed.
fn spawn_child(dir: &Path) -> String {
    let exe = std::env::current_exe().expect("current_exe");
    let out = Command::new(exe)
        .args([
            "second_process_gets_the_locked_error_until_the_holder_is_dropped",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR_VAR, dir)
        .output()
        .expect("spawn the child test process");
    assert!(out.status.success(), "child failed: {out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("VERDICT "))
        .unwrap_or_else(|| panic!("child printed no verdict: {stdout}"))
        .to_string()
}

#[test]
fn second_process_gets_the_locked_error_until_the_holder_is_dropped() {
    if let Some(dir) = std::env::var_os(CHILD_DIR_VAR) {
        child(Path::new(&dir));
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let holder = Engine::open(dir.path(), options()).expect("open");
    holder.put(b"k", b"from the parent", None).expect("put");

    let verdict = spawn_child(dir.path());
    assert!(
        verdict.starts_with("LOCKED") && verdict.contains(&dir.path().display().to_string()),
        "the child must get the locked error naming the directory: {verdict}"
    );
    assert_eq!(
        holder.get(b"k").expect("get").as_deref(),
        Some(&b"from the parent"[..])
    );

    drop(holder);
    let verdict = spawn_child(dir.path());
    assert_eq!(
        verdict, "OPENED from the parent",
        "after the holder is dropped the child opens and sees the data"
    );
}
