//! The administrator CLI, run as a user would: setup steps 1, 2 and 4 on a temporary data
//! directory, checked with the real `openssl` where it can check something.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;

fn pushproxy(data: &Path) -> Command {
    let mut cmd = Command::cargo_bin("pushproxy").expect("the pushproxy binary is built");
    cmd.arg("--data-dir").arg(data);
    cmd.env_remove(pushproxy_config::DATA_DIR_ENV);
    cmd
}

/// Runs the command, asserts success and returns its standard output.
fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("pushproxy runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Runs the command, asserts failure and returns its standard error.
fn fails(cmd: &mut Command) -> String {
    let out = cmd.output().expect("pushproxy runs");
    assert!(
        !out.status.success(),
        "{cmd:?} should have failed:\nstdout:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).expect("UTF-8 output")
}

fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl must be installed (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

#[test]
fn setup_prints_the_original_lines_and_a_second_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let first = ok(pushproxy(dir.path()).args(["setup", "--tenant-domain", "Fabrikam.com"]));
    let lines: Vec<&str> = first.lines().collect();
    assert_eq!(lines[0], "Creating certificate for oAuth...");
    let thumbprint = lines[1]
        .strip_prefix("Configured Certificate Thumbprint is: ")
        .expect("the thumbprint line");
    assert_eq!(thumbprint.len(), 40);
    assert!(
        thumbprint
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    );
    assert_eq!(
        &lines[2..],
        [
            "Exporting certificate...",
            "Creating AuthServer Config...",
            "Complete."
        ]
    );

    let config_before = std::fs::read(dir.path().join("config.json")).unwrap();
    let store_before = std::fs::read(dir.path().join("certificates.json")).unwrap();
    let second = ok(pushproxy(dir.path()).args(["setup", "--tenant-domain", "fabrikam.com"]));
    assert_eq!(
        second.lines().collect::<Vec<_>>(),
        [
            &format!("Configured Certificate Thumbprint is: {thumbprint}") as &str,
            "Exporting certificate...",
            "AuthServer Config already exists.",
            "Everything was already set up; nothing changed.",
            "Complete.",
        ]
    );
    assert_eq!(
        std::fs::read(dir.path().join("config.json")).unwrap(),
        config_before
    );
    assert_eq!(
        std::fs::read(dir.path().join("certificates.json")).unwrap(),
        store_before
    );

    // The exported OAuthCert.cer is DER, and openssl computes the same thumbprint.
    let cer = dir.path().join("OAuthConfig/OAuthCert.cer");
    let fingerprint = openssl(&[
        "x509",
        "-inform",
        "DER",
        "-in",
        cer.to_str().unwrap(),
        "-noout",
        "-fingerprint",
        "-sha1",
    ]);
    assert_eq!(
        fingerprint
            .trim()
            .trim_start_matches("SHA1 Fingerprint=")
            .trim_start_matches("sha1 Fingerprint=")
            .replace(':', ""),
        thumbprint
    );

    // The key is owner-only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = dir.path().join(format!("keys/{thumbprint}.key.pem"));
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} has mode {mode:o}", key.display());
    }
}

#[test]
fn a_changed_tenant_updates_the_auth_server_with_the_warning() {
    let dir = tempfile::tempdir().unwrap();
    ok(pushproxy(dir.path()).args(["auth-server", "ensure", "--tenant-domain", "fabrikam.com"]));
    let out = pushproxy(dir.path())
        .args(["auth-server", "ensure", "--tenant-domain", "contoso.com"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "WARNING: AuthServer config already exists but the AuthMetadataUrl doesn't match the appropriate value. Updating..."
    );
    let shown = ok(pushproxy(dir.path()).args(["auth-server", "show", "--json"]));
    let servers: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(
        servers[0]["AuthMetadataUrl"],
        "https://accounts.accesscontrol.windows.net/metadata/json/1/?realm=contoso.com"
    );
}

#[test]
fn enable_prints_the_app_in_the_original_list_layout() {
    let dir = tempfile::tempdir().unwrap();
    let out =
        ok(pushproxy(dir.path()).args(["push-proxy", "enable", "--organization", "Fabrikam.com"]));
    let names: Vec<&str> = out
        .lines()
        .filter(|l| !l.starts_with(' '))
        .map(|l| l.split(" :").next().unwrap().trim_end())
        .collect();
    assert_eq!(
        names,
        [
            "RunspaceId",
            "DisplayName",
            "Enabled",
            "Organization",
            "Uri",
            "Identity",
            "IsValid",
            "ExchangeVersion",
            "Name",
            "DistinguishedName",
            "Guid",
            "ObjectCategory",
            "ObjectClass",
            "WhenChanged",
            "WhenCreated",
            "WhenChangedUTC",
            "WhenCreatedUTC",
            "OrganizationId",
            "OriginatingServer",
            "ObjectState",
        ]
    );
    assert!(out.contains("DisplayName       : On Premises Proxy app\n"));
    assert!(out.contains("Organization      : fabrikam.com\n"));
    assert!(out.contains("Uri               : https://outlook.office365.com/PushNotifications\n"));
    assert!(out.contains("ObjectClass       : {top, msExchPushNotificationsApp}\n"));
    assert!(out.contains("ObjectState       : New"));

    let again =
        ok(pushproxy(dir.path()).args(["push-proxy", "enable", "--organization", "fabrikam.com"]));
    assert!(again.contains("ObjectState       : Unchanged"), "{again}");

    let disabled = ok(pushproxy(dir.path()).args(["push-proxy", "disable", "--json"]));
    let app: serde_json::Value = serde_json::from_str(&disabled).unwrap();
    assert_eq!(app["Enabled"], false, "{app}");

    let uri = ok(pushproxy(dir.path()).args([
        "push-proxy",
        "enable",
        "--organization",
        "fabrikam.com",
        "--uri",
        "http://127.0.0.1:9/PushNotifications",
    ]));
    assert!(
        uri.contains("Uri               : http://127.0.0.1:9/PushNotifications\n"),
        "{uri}"
    );
    assert!(uri.contains("Enabled           : True\n"));
}

#[test]
fn a_hand_broken_config_is_reported_with_its_path_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    ok(pushproxy(dir.path()).args(["auth-server", "ensure", "--tenant-domain", "fabrikam.com"]));
    let path = dir.path().join("config.json");
    let broken = std::fs::read_to_string(&path)
        .unwrap()
        .replace("fabrikam.com", "fabrikam com\"");
    std::fs::write(&path, &broken).unwrap();
    let err = fails(pushproxy(dir.path()).args([
        "auth-server",
        "ensure",
        "--tenant-domain",
        "contoso.com",
    ]));
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("line"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        broken,
        "the broken file was changed"
    );
}

#[test]
fn certificates_can_be_imported_and_a_foreign_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let cert = work.path().join("c.pem");
    let key = work.path().join("k.pem");
    let other = work.path().join("other.pem");
    let der = work.path().join("c.der");
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=contoso.com",
        "-addext",
        "subjectAltName=DNS:contoso.com",
        "-days",
        "30",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
    ]);
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        other.to_str().unwrap(),
    ]);
    openssl(&[
        "x509",
        "-in",
        cert.to_str().unwrap(),
        "-outform",
        "DER",
        "-out",
        der.to_str().unwrap(),
    ]);

    let err = fails(pushproxy(dir.path()).args([
        "certificate",
        "import",
        "--cert",
        der.to_str().unwrap(),
        "--key",
        other.to_str().unwrap(),
    ]));
    assert!(err.contains("does not belong"), "{err}");
    assert!(!dir.path().join("certificates.json").exists());

    let out = ok(pushproxy(dir.path()).args([
        "certificate",
        "import",
        "--cert",
        der.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--friendly-name",
        "Contoso OAuth",
        "--services",
        "SMTP",
    ]));
    let fingerprint = openssl(&[
        "x509",
        "-in",
        cert.to_str().unwrap(),
        "-noout",
        "-fingerprint",
        "-sha1",
    ]);
    let thumbprint = fingerprint
        .trim()
        .split('=')
        .nth(1)
        .unwrap()
        .replace(':', "");
    assert!(out.contains(&thumbprint), "{out}");

    let list =
        ok(pushproxy(dir.path()).args(["certificate", "list", "--organization", "contoso.com"]));
    assert!(
        list.contains(&format!("{thumbprint}: fits setup step 1 for contoso.com")),
        "{list}"
    );
    let list =
        ok(pushproxy(dir.path()).args(["certificate", "list", "--organization", "fabrikam.com"]));
    assert!(list.contains("cannot be reused for fabrikam.com"), "{list}");

    // Setup reuses the imported certificate instead of creating one.
    let setup = ok(pushproxy(dir.path()).args(["setup", "--tenant-domain", "contoso.com"]));
    assert!(!setup.contains("Creating certificate"), "{setup}");
    assert!(setup.contains(&format!(
        "Configured Certificate Thumbprint is: {thumbprint}"
    )));

    let shown = ok(pushproxy(dir.path()).args(["certificate", "show", &thumbprint, "--json"]));
    let info: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(info["friendlyName"], "Contoso OAuth");
    assert_eq!(info["keyBits"], 2048);
    assert_eq!(info["selfSigned"], true);

    let exported = work.path().join("out.pem");
    ok(pushproxy(dir.path()).args([
        "certificate",
        "export",
        &thumbprint,
        "--format",
        "pem",
        "--out",
        exported.to_str().unwrap(),
    ]));
    assert_eq!(
        std::fs::read_to_string(&exported).unwrap().trim(),
        std::fs::read_to_string(&cert).unwrap().trim()
    );
}

#[test]
fn a_small_key_is_refused_with_the_minimum() {
    let dir = tempfile::tempdir().unwrap();
    let err = fails(pushproxy(dir.path()).args([
        "certificate",
        "new",
        "--domain",
        "fabrikam.com",
        "--key-size",
        "1024",
    ]));
    assert!(err.contains("2048"), "{err}");
}

#[test]
fn certificate_rotation_through_auth_config() {
    let dir = tempfile::tempdir().unwrap();
    let new_cert = |dir: &Path| -> String {
        let out =
            ok(pushproxy(dir).args(["certificate", "new", "--domain", "fabrikam.com", "--json"]));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["thumbprint"].as_str().unwrap().to_owned()
    };
    let a = new_cert(dir.path());
    let b = new_cert(dir.path());
    ok(pushproxy(dir.path()).args(["auth-config", "set", "--certificate-thumbprint", &a]));
    ok(pushproxy(dir.path()).args([
        "auth-config",
        "set",
        "--next-certificate-thumbprint",
        &b,
        "--next-effective-date",
        "2030-01-01T00:00:00Z",
    ]));
    ok(pushproxy(dir.path()).args(["auth-config", "set", "--publish-certificate"]));
    let shown = ok(pushproxy(dir.path()).args(["auth-config", "show", "--json"]));
    let config: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(config["CurrentCertificateThumbprint"], b.as_str());
    assert_eq!(config["PreviousCertificateThumbprint"], a.as_str());
    ok(pushproxy(dir.path()).args(["auth-config", "set", "--clear-previous-certificate"]));
    let shown = ok(pushproxy(dir.path()).args(["auth-config", "show"]));
    assert!(
        shown.contains("PreviousCertificateThumbprint :\n"),
        "{shown}"
    );

    // A thumbprint that is not in the store is refused.
    let err = fails(pushproxy(dir.path()).args([
        "auth-config",
        "set",
        "--certificate-thumbprint",
        "84E05C1D98BCE3A5421D225B140B36E86A3D5534",
    ]));
    assert!(err.contains("not in the certificate store"), "{err}");
}
