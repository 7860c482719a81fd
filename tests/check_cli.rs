//! The offline checker as an operator uses it: `slowpoke check DIR` on a
//! healthy directory prints OK and exits 0; after a byte of a sealed data
//! file is flipped it names the damaged file and offset, exits 1, and the
//! server still opens the directory, reports the same damage in its log
//! and serves every other key.

mod common;

use std::process::Command;

use common::Server;

fn check(dir: &std::path::Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_slowpoke"))
        .arg("check")
        .arg(dir)
        .output()
        .expect("run check");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn check_finds_the_damage_the_server_reports() {
    let mut s = Server::start_with(&["--data-file-size", "64kb"]);
    let mut c = s.conn();
    for i in 0..1000 {
        let _: () = redis::cmd("SET")
            .arg(format!("key:{i:04}"))
            .arg(format!("value-{i}-{}", "x".repeat(100)))
            .query(&mut c)
            .expect("set");
    }
    s.stop();
    let (code, out) = check(&s.dir);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("live keys:      1000"), "{out}");
    assert!(out.trim_end().ends_with("OK"), "{out}");

    // Flip one byte in the value of a record in the middle of the first file.
    let first = s.dir.join("0000000001.data");
    let mut bytes = std::fs::read(&first).expect("read");
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    std::fs::write(&first, &bytes).expect("write");
    let (code, out) = check(&s.dir);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("damaged: file 0000000001.data offset "),
        "{out}"
    );
    assert!(out.contains("DAMAGED"), "{out}");
    let damaged_line = out
        .lines()
        .find(|l| l.starts_with("damaged:"))
        .expect("damage line")
        .to_string();

    // Hints let the server skip reading the file: remove them so it reads
    // the records and meets the damage itself.
    for f in std::fs::read_dir(&s.dir).expect("ls") {
        let p = f.expect("entry").path();
        if p.extension().is_some_and(|x| x == "hint") {
            std::fs::remove_file(p).expect("rm");
        }
    }
    s.start_again();
    let offset: String = damaged_line
        .split("offset ")
        .nth(1)
        .expect("offset")
        .split_whitespace()
        .next()
        .expect("number")
        .to_string();
    let log = s.log_text();
    assert!(log.contains("skipping damaged bytes"), "{log}");
    assert!(
        log.contains(&format!("offset={offset}")),
        "server log does not name offset {offset}:\n{log}"
    );
    let mut c = s.conn();
    let n: u64 = redis::cmd("DBSIZE").query(&mut c).expect("dbsize");
    assert_eq!(n, 999, "exactly the damaged record is lost");
}
