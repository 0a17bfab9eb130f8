//! End-to-end tests against a real STS implementation: `moto_server` on loopback. They skip
//! when moto is not installed, and fail instead under `CI=true`.

use std::time::{Duration, SystemTime};

use crate::aws::server::{ServerOptions, start_with};
use crate::aws::testing::{MotoServer, TempHome, http_request};
use crate::aws::{CredentialSource, HostAws, HostOptions};

const MOTO_ACCOUNT: &str = "123456789012";

fn keys(profile: &str) -> String {
    format!(
        "[{profile}]\naws_access_key_id = AKIAMOTOSTATIC000001\naws_secret_access_key = moto-secret\n"
    )
}

#[tokio::test]
async fn a_static_key_profile_resolves_through_moto_sts() {
    let Some(moto) = MotoServer::start() else {
        return;
    };
    let home = TempHome::new();
    home.write(".aws/credentials", &keys("default"));
    let options = HostOptions {
        region: Some("us-east-1".into()),
        endpoint_url: Some(moto.url()),
        ..HostOptions::default()
    };
    let identity = HostAws::load(&home.env([]), &options)
        .unwrap()
        .identity()
        .await
        .unwrap();
    assert_eq!(identity.account, MOTO_ACCOUNT);
    assert!(identity.arn.starts_with("arn:aws:"), "{}", identity.arn);
    assert_eq!(identity.source, CredentialSource::Profile);
    assert_eq!(identity.access_key_id_masked, "****************0001");
    assert_eq!(identity.expires, None);
    assert_eq!(
        (identity.profile.as_str(), identity.region.as_str()),
        ("default", "us-east-1")
    );
    // moto sends a Date header; the host and moto share a clock.
    assert!(
        identity.clock_skew_secs.is_some_and(|s| s.abs() <= 5),
        "{identity:?}"
    );
}

#[tokio::test]
async fn an_assume_role_profile_resolves_through_moto_sts() {
    let Some(moto) = MotoServer::start() else {
        return;
    };
    let home = TempHome::new();
    // The endpoint comes from the profile, as a developer would point it at an emulator; the
    // role hop inside aws-config reads it from the same (snapshot-fed) profile files.
    home.write(
        ".aws/config",
        &format!(
            "[profile app]\nrole_arn = arn:aws:iam::{MOTO_ACCOUNT}:role/dev-app\nrole_session_name = devboot-test\nsource_profile = base\nregion = us-east-1\nendpoint_url = {}\n",
            moto.url()
        ),
    );
    home.write(".aws/credentials", &keys("base"));
    let options = HostOptions {
        profile: Some("app".into()),
        ..HostOptions::default()
    };
    let host = HostAws::load(&home.env([]), &options).unwrap();
    assert_eq!(host.planned_source(), CredentialSource::AssumeRole);
    let identity = host.identity().await.unwrap();
    assert_eq!(identity.account, MOTO_ACCOUNT);
    assert!(
        identity.arn.contains(":assumed-role/dev-app/devboot-test"),
        "{}",
        identity.arn
    );
    assert_eq!(identity.source, CredentialSource::AssumeRole);
    assert!(identity.expires.is_some_and(|e| e > SystemTime::now()));
    assert_ne!(identity.access_key_id_masked, "****************0001");
}

#[tokio::test]
async fn credential_source_environment_assumes_the_role_with_snapshot_keys() {
    let Some(moto) = MotoServer::start() else {
        return;
    };
    let home = TempHome::new();
    home.write(
        ".aws/config",
        &format!(
            "[profile ci]\nrole_arn = arn:aws:iam::{MOTO_ACCOUNT}:role/ci\ncredential_source = Environment\nregion = us-east-1\nendpoint_url = {}\n",
            moto.url()
        ),
    );
    let env = home.env([
        ("AWS_ACCESS_KEY_ID", "AKIASNAPSHOTKEY00001"),
        ("AWS_SECRET_ACCESS_KEY", "snapshot-secret"),
    ]);
    let options = HostOptions {
        profile: Some("ci".into()),
        ..HostOptions::default()
    };
    let identity = HostAws::load(&env, &options)
        .unwrap()
        .identity()
        .await
        .unwrap();
    assert!(
        identity.arn.contains(":assumed-role/ci/"),
        "{}",
        identity.arn
    );
}

#[tokio::test]
async fn long_term_keys_reach_the_container_only_as_a_session() {
    let Some(moto) = MotoServer::start() else {
        return;
    };
    let home = TempHome::new();
    home.write(".aws/credentials", &keys("dev"));
    let options = HostOptions {
        profile: Some("dev".into()),
        region: Some("us-east-1".into()),
        endpoint_url: Some(moto.url()),
    };
    let host = HostAws::load(&home.env([]), &options).unwrap();

    let session = host.session_credentials().await.unwrap();
    assert_ne!(session.access_key_id(), "AKIAMOTOSTATIC000001");
    assert!(session.session_token().is_some());
    assert!(
        session
            .expiry()
            .is_some_and(|e| e > SystemTime::now() + Duration::from_secs(600))
    );

    let server = start_with(
        "127.0.0.1:0".parse().unwrap(),
        "/creds/x".into(),
        "token".into(),
        host.container_provider(),
        ServerOptions::default(),
    )
    .await
    .unwrap();
    server.wait_ready(Duration::from_secs(20)).await.unwrap();
    let (status, body) = http_request(server.local_addr, "GET", "/creds/x", Some("token")).await;
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_ne!(json["AccessKeyId"], "AKIAMOTOSTATIC000001");
    assert!(!body.contains("moto-secret"));
    assert!(
        json["Token"].is_string() && json["Expiration"].is_string(),
        "{body}"
    );
}
