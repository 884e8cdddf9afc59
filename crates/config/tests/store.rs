//! The durable store: atomic writes, refusal of broken files, schema versions, the lock and
//! file permissions.
#![cfg(feature = "store")]
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use pushproxy_config::{
    ConfigDocument, ConfigError, DnsName, Guid, HttpsUrl, SCHEMA_VERSION, Store,
};
use time::macros::datetime;

type Counters = BTreeMap<String, u64>;

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn dns(s: &str) -> DnsName {
    s.parse().unwrap()
}

#[test]
fn missing_document_reads_as_none_and_round_trips() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path().join("data")).unwrap();
    assert!(store.read::<Counters>("counters").unwrap().is_none());
    let lock = store.lock().unwrap();
    let mut value = Counters::new();
    value.insert("a".into(), 1);
    store.write(&lock, "counters", &value).unwrap();
    assert_eq!(store.read::<Counters>("counters").unwrap(), Some(value));
    let text = fs::read_to_string(store.dir().join("counters.json")).unwrap();
    assert_eq!(
        text,
        "{\n  \"schemaVersion\": 1,\n  \"kind\": \"counters\",\n  \"data\": {\n    \"a\": 1\n  }\n}\n"
    );
}

#[test]
fn atomic_write_leaves_no_temporary_files() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let lock = store.lock().unwrap();
    for i in 0..20u64 {
        let mut value = Counters::new();
        value.insert("n".into(), i);
        store.write(&lock, "counters", &value).unwrap();
        store.write(&lock, "other", &value).unwrap();
    }
    assert_eq!(
        entries(store.dir()),
        [".lock", "counters.json", "other.json"]
    );
    assert_eq!(
        store.read::<Counters>("counters").unwrap().unwrap()["n"],
        19
    );
}

#[test]
fn a_failed_write_leaves_the_old_file_and_no_temporary_file() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let lock = store.lock().unwrap();
    let mut doc = ConfigDocument::default();
    doc.auth_config.next_certificate_effective_date = Some(datetime!(2030-01-01 0:00 UTC));
    store.write(&lock, "config", &doc).unwrap();
    let before = fs::read(store.dir().join("config.json")).unwrap();
    // A year RFC 3339 cannot write: encoding fails before anything is written.
    let bc = time::Date::from_calendar_date(-1, time::Month::January, 1)
        .unwrap()
        .midnight()
        .assume_utc();
    doc.auth_config.next_certificate_effective_date = Some(bc);
    let err = store.write(&lock, "config", &doc).unwrap_err();
    assert!(matches!(err, ConfigError::Encode { .. }), "{err}");
    assert_eq!(fs::read(store.dir().join("config.json")).unwrap(), before);
    assert_eq!(entries(store.dir()), [".lock", "config.json"]);
}

fn write_raw(store: &Store, name: &str, text: &str) -> std::path::PathBuf {
    let path = store.dir().join(format!("{name}.json"));
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn bad_json_is_reported_with_path_line_and_column_and_never_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let broken = "{\n  \"schemaVersion\": 1,\n  \"kind\": \"config\",\n  \"data\": {\n    \"AuthConfig\": {,\n  }\n}\n";
    let path = write_raw(&store, "config", broken);
    let err = store.load_config().unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("{}:5:20: ", path.display())),
        "{text}"
    );
    assert!(text.contains("fix it or move it away"), "{text}");
    assert!(matches!(
        err,
        ConfigError::Corrupt {
            line: 5,
            column: 20,
            ..
        }
    ));

    let lock = store.lock().unwrap();
    let err = store
        .write(&lock, "config", &ConfigDocument::default())
        .unwrap_err();
    assert!(matches!(err, ConfigError::Corrupt { .. }), "{err}");
    drop(lock);
    let err = store
        .update_config(|doc| {
            doc.auth_config.realm = Some("x".into());
            Ok::<_, ConfigError>(())
        })
        .unwrap_err();
    assert!(matches!(err, ConfigError::Corrupt { .. }), "{err}");
    assert_eq!(fs::read_to_string(&path).unwrap(), broken);
    assert_eq!(entries(store.dir()), [".lock", "config.json"]);
}

#[test]
fn an_invalid_thumbprint_is_reported_where_it_is() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let broken = r#"{
  "schemaVersion": 1,
  "kind": "config",
  "data": {
    "AuthConfig": {
      "CurrentCertificateThumbprint": "7595DBDEA83DACB5757441D44899BCDB991125"
    }
  }
}
"#;
    let path = write_raw(&store, "config", broken);
    let err = store.load_config().unwrap_err();
    let ConfigError::Corrupt {
        path: p,
        line,
        problem,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(p, &path);
    // serde_json notices a bad value of the last member of an object at its closing brace,
    // so the position is the value's line or the next one; the message quotes the value.
    assert!((6..=7).contains(line), "line {line}");
    assert!(
        problem.contains("7595DBDEA83DACB5757441D44899BCDB991125"),
        "{problem}"
    );
    let lock = store.lock().unwrap();
    assert!(
        store
            .write(&lock, "config", &ConfigDocument::default())
            .is_err()
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), broken);
}

#[test]
fn an_http_url_to_a_remote_host_is_refused_when_read() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let broken = r#"{"schemaVersion": 1, "kind": "config", "data": {"AuthServers": {"MicrosoftSts": {
  "Name": "MicrosoftSts", "AuthMetadataUrl": "http://sts.example/metadata"}}}}"#;
    write_raw(&store, "config", broken);
    let text = store.load_config().unwrap_err().to_string();
    assert!(text.contains(":2:"), "{text}");
    assert!(
        text.contains("plain http is allowed only for a loopback host"),
        "{text}"
    );
}

#[test]
fn a_newer_schema_version_is_refused_and_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let newer = format!(
        "{{\"schemaVersion\": {}, \"kind\": \"config\", \"data\": {{\"Whatever\": 1}}}}",
        SCHEMA_VERSION + 1
    );
    let path = write_raw(&store, "config", &newer);
    let err = store.load_config().unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::UnsupportedSchema {
                found: 2,
                supported: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("use a newer pushproxy"), "{err}");
    let lock = store.lock().unwrap();
    assert!(
        store
            .write(&lock, "config", &ConfigDocument::default())
            .is_err()
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), newer);
}

#[test]
fn a_file_of_another_kind_or_shape_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    write_raw(
        &store,
        "config",
        r#"{"schemaVersion": 1, "kind": "cloud", "data": {}}"#,
    );
    let err = store.load_config().unwrap_err();
    assert!(
        err.to_string().contains("kind \"cloud\" where \"config\""),
        "{err}"
    );

    write_raw(&store, "config", r#"{"kind": "config", "data": {}}"#);
    let err = store.load_config().unwrap_err().to_string();
    assert!(err.contains("missing field `schemaVersion`"), "{err}");

    write_raw(
        &store,
        "config",
        r#"{"schemaVersion": 1, "kind": "config", "data": {}, "x": 1}"#,
    );
    let err = store.load_config().unwrap_err().to_string();
    assert!(err.contains("unknown field `x`"), "{err}");

    write_raw(&store, "config", "");
    let err = store.load_config().unwrap_err().to_string();
    assert!(err.contains("EOF"), "{err}");
}

#[test]
fn update_writes_only_changes_and_aborts_on_error() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    // Nothing changed: no file is created.
    store
        .update("counters", |_: &mut Counters| Ok::<_, ConfigError>(()))
        .unwrap();
    assert_eq!(entries(store.dir()), [".lock"]);
    store
        .update("counters", |c: &mut Counters| {
            c.insert("a".into(), 1);
            Ok::<_, ConfigError>(())
        })
        .unwrap();
    let err = store
        .update("counters", |c: &mut Counters| {
            c.insert("a".into(), 2);
            Err::<(), _>(ConfigError::InvalidDocumentName { name: "why".into() })
        })
        .unwrap_err();
    assert!(matches!(err, ConfigError::InvalidDocumentName { .. }));
    assert_eq!(store.read::<Counters>("counters").unwrap().unwrap()["a"], 1);
}

#[test]
fn the_setup_survives_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let tenant = dns("fabrikam.com");
    let server = dns("server.fabrikam.com");
    let now = datetime!(2013-08-14 13:30:27 -7);
    {
        let store = Store::open(tmp.path()).unwrap();
        store
            .update_config(|doc| {
                doc.auth_config
                    .set_current_certificate("7595DBDEA83DACB5757441D44899BCDB9911253C".parse()?);
                doc.ensure_auth_server(&tenant, &HttpsUrl::default_authority());
                doc.enable_push_proxy(
                    &tenant,
                    None,
                    now,
                    Guid::from_random_bytes([1; 16]),
                    &server,
                );
                Ok::<_, ConfigError>(())
            })
            .unwrap();
    }
    let store = Store::open(tmp.path()).unwrap();
    let doc = store.load_config().unwrap();
    assert_eq!(
        doc.auth_config
            .current_certificate_thumbprint
            .unwrap()
            .to_string(),
        "7595DBDEA83DACB5757441D44899BCDB9911253C"
    );
    let app = doc.proxy_app().unwrap();
    assert!(app.enabled);
    assert_eq!(app.when_created.offset(), now.offset());
    let before = fs::read(store.dir().join("config.json")).unwrap();
    let outcome = store
        .update_config(|doc| {
            Ok::<_, ConfigError>(
                doc.enable_push_proxy(&tenant, None, now, Guid::NIL, &server)
                    .1,
            )
        })
        .unwrap();
    assert!(!outcome.changed());
    assert_eq!(fs::read(store.dir().join("config.json")).unwrap(), before);
}

#[test]
fn try_lock_fails_while_a_guard_lives() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let other = Store::open(tmp.path()).unwrap();
    let guard = store.lock().unwrap();
    let err = other.try_lock().unwrap_err();
    assert!(matches!(err, ConfigError::Locked { .. }), "{err}");
    let lock_path = store.dir().join(".lock");
    assert!(
        err.to_string().contains(&lock_path.display().to_string()),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("locked by another pushproxy process"),
        "{err}"
    );
    drop(guard);
    let again = other.try_lock().unwrap();
    // A guard is a witness for its own store only.
    let elsewhere = tempfile::tempdir().unwrap();
    let third = Store::open(elsewhere.path()).unwrap();
    let err = third
        .write(&again, "counters", &Counters::new())
        .unwrap_err();
    assert!(matches!(err, ConfigError::ForeignLock { .. }), "{err}");
    // The same directory reached through another spelling is the same store.
    let dotted = Store::open(tmp.path().join(".")).unwrap();
    dotted.write(&again, "counters", &Counters::new()).unwrap();
}

#[test]
fn threads_updating_concurrently_lose_no_update() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_owned();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                let store = Store::open(&dir).unwrap();
                for _ in 0..25 {
                    store
                        .update("counters", |c: &mut Counters| {
                            let n = c.entry("n".into()).or_default();
                            let seen = *n;
                            std::thread::yield_now();
                            *n = seen + 1;
                            Ok::<_, ConfigError>(())
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let store = Store::open(&dir).unwrap();
    assert_eq!(
        store.read::<Counters>("counters").unwrap().unwrap()["n"],
        100
    );
    assert_eq!(entries(&dir), [".lock", "counters.json"]);
}

/// The child side of `another_process_holding_the_lock_blocks_us`: when run with
/// `PUSHPROXY_CONFIG_TEST_LOCK_DIR` set, it takes the lock, says so, and holds it until its
/// standard input closes. Run normally, it does nothing.
#[test]
fn child_process_lock_holder() {
    let Some(dir) = std::env::var_os("PUSHPROXY_CONFIG_TEST_LOCK_DIR") else {
        return;
    };
    let store = Store::open(dir).unwrap();
    let _guard = store.lock().unwrap();
    // libtest may print "test <name> ... " just before, on the same line.
    println!("\nCHILD-HOLDS-THE-LOCK");
    std::io::stdout().flush().unwrap();
    let mut sink = String::new();
    while std::io::stdin().read_line(&mut sink).unwrap() > 0 {}
}

#[test]
fn another_process_holding_the_lock_blocks_us() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process_lock_holder",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PUSHPROXY_CONFIG_TEST_LOCK_DIR", store.dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    assert!(
        lines.any(|l| l.unwrap().contains("CHILD-HOLDS-THE-LOCK")),
        "the child never took the lock"
    );
    let err = store.try_lock().unwrap_err();
    assert!(matches!(err, ConfigError::Locked { .. }), "{err}");
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    store.try_lock().unwrap();
}

#[cfg(unix)]
#[test]
fn directory_is_0700_and_files_are_0600() {
    use std::os::unix::fs::PermissionsExt;

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nested").join("data");
    let store = Store::open(&dir).unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let lock = store.lock().unwrap();
    store
        .write(&lock, "config", &ConfigDocument::default())
        .unwrap();
    assert_eq!(mode(&dir.join("config.json")), 0o600);
    assert_eq!(mode(&dir.join(".lock")), 0o600);
    // A file made looser by hand becomes 0600 again on the next write.
    fs::set_permissions(dir.join("config.json"), fs::Permissions::from_mode(0o644)).unwrap();
    store
        .write(&lock, "config", &ConfigDocument::default())
        .unwrap();
    assert_eq!(mode(&dir.join("config.json")), 0o600);
}

#[test]
fn bad_document_names_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let err = store.read::<Counters>("../escape").unwrap_err();
    assert!(
        matches!(err, ConfigError::InvalidDocumentName { .. }),
        "{err}"
    );
}
