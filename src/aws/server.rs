//! The host credential endpoint: an ECS container-credentials server the app container's SDK
//! polls (through the relay at `169.254.170.2`) for short-lived credentials.
//!
//! Protocol (what every SDK's container provider speaks): `GET <secret path>` with header
//! `Authorization: <token>` → `200 {"AccessKeyId","SecretAccessKey","Token","Expiration"}`,
//! `Expiration` in RFC 3339. Anything else gets a JSON error and no secret: wrong or missing
//! token 403, other paths 404, other methods 405. When the host cannot produce credentials the
//! reply is `503 {"code","message"}`, the message naming the fix to run on the host.
//!
//! Credentials are fetched in the background and served from memory: Ruby's default chain
//! gives the endpoint 1 s and no retry, while an SSO refresh or a `credential_process` can take
//! longer. They are refreshed when less than [`ServerOptions::refresh_before_expiry`] (15 min)
//! is left, comfortably before the SDKs' own 5-minute refresh window. After an error the
//! next request triggers a new attempt, so `aws sso login` on the host fixes a running stack.
//!
//! The HTTP side is a small hand-written HTTP/1.1 handler (one GET per connection) on tokio's
//! `TcpListener`: hyper 1 is in the dependency tree only as a client, and its server side
//! would add `hyper/server` + `hyper-util` server modules for a protocol of one request line
//! and one header. Requests are capped at 8 KiB and [`ServerOptions::head_timeout`] (2 s).
//!
//! Only the relay may connect ([`ServerOptions::allowed_peers`]): a connection from any other
//! address is closed unanswered. At most [`ServerOptions::max_connections`] are open at once;
//! when all are taken, the oldest one that has not yet sent its request is closed to make room,
//! so idle or slow clients cannot keep the SDK (which gives up after 1 s) out.

use std::collections::VecDeque;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::{AbortHandle, JoinHandle};
use tokio::time::Instant;

use super::chain::{aws_error_of, error_chain};
use super::error::AwsError;
use super::{mask_key_id, random_hex, rfc3339};

/// The two random secrets of an endpoint: the path (`/creds/<64 hex>`) and the
/// `Authorization` token (64 hex), each from 32 OS-random bytes. `Debug` hides them.
#[derive(Clone, PartialEq, Eq)]
pub struct EndpointSecrets {
    pub path: String,
    pub token: String,
}

impl EndpointSecrets {
    pub fn generate() -> Result<Self, AwsError> {
        Ok(Self {
            path: format!("/creds/{}", random_hex(32)?),
            token: random_hex(32)?,
        })
    }
}

impl fmt::Debug for EndpointSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EndpointSecrets { .. }")
    }
}

/// Timing of the endpoint; the defaults suit real use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOptions {
    /// Refresh when less than this is left before `Expiration`.
    pub refresh_before_expiry: Duration,
    /// The `Expiration` served for credentials that never expire (they are re-read then).
    pub static_lifetime: Duration,
    /// Never ask the provider more often than this.
    pub min_refresh_interval: Duration,
    /// After a failed refresh, try again after this long (or at the next request).
    pub retry_after_error: Duration,
    /// Give up on one refresh after this long (an SSO refresh or a slow `credential_process`).
    pub fetch_timeout: Duration,
    /// How long a request without usable credentials waits for a refresh it triggered.
    pub request_wait: Duration,
    /// Accept a request that carries *no* `Authorization` header when its path is the secret
    /// one (a wrong header is still refused). For SDKs that predate the token: Ruby
    /// aws-sdk-core < 3.171, e.g. Debian's 3.168, sends none. The path holds 256 random bits,
    /// as the token does. Off by default.
    pub allow_missing_token: bool,
    /// The only peer addresses whose connections are served; others are closed unanswered
    /// and counted as refused. `None` serves any (the tests on loopback); `devboot aws serve`
    /// allows the relay alone.
    pub allowed_peers: Option<Vec<IpAddr>>,
    /// How long a client may take to send its request head.
    pub head_timeout: Duration,
    /// Connections open at once; a new one beyond this closes the oldest that has not sent
    /// its request head yet (or, when every one has, is itself closed).
    pub max_connections: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            refresh_before_expiry: Duration::from_secs(15 * 60),
            static_lifetime: Duration::from_secs(60 * 60),
            min_refresh_interval: Duration::from_secs(5),
            retry_after_error: Duration::from_secs(30),
            fetch_timeout: Duration::from_secs(120),
            request_wait: Duration::from_millis(700),
            allow_missing_token: false,
            allowed_peers: None,
            head_timeout: Duration::from_secs(2),
            max_connections: 64,
        }
    }
}

/// What the endpoint is doing, for `devboot aws status` and the terminal. No secrets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerStatus {
    pub access_key_id_masked: Option<String>,
    /// The `Expiration` being served.
    pub expires: Option<SystemTime>,
    pub refreshed_at: Option<SystemTime>,
    /// Successful fetches so far.
    pub refreshes: u64,
    /// The last fetch's error, cleared by the next success.
    pub error: Option<ServedError>,
    pub requests_served: u64,
    pub requests_refused: u64,
}

/// An error as the endpoint reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedError {
    pub code: String,
    /// What went wrong and the fix to run on the host.
    pub message: String,
}

/// A running endpoint. Dropping it stops it too; [`ServerHandle::shutdown`] also waits.
pub struct ServerHandle {
    pub local_addr: SocketAddr,
    shared: Arc<Shared>,
    status: watch::Receiver<ServerStatus>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl ServerHandle {
    /// The current status.
    pub fn status(&self) -> ServerStatus {
        let mut status = self.status.borrow().clone();
        status.requests_served = self.shared.served.load(Ordering::Relaxed);
        status.requests_refused = self.shared.refused.load(Ordering::Relaxed);
        status
    }

    /// Status updates, one per refresh (success or failure).
    pub fn subscribe(&self) -> watch::Receiver<ServerStatus> {
        self.status.clone()
    }

    /// Waits for the first fetch: `Ok` once credentials are being served, the error if the
    /// fetch failed. Start the app container only after this.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<ServerStatus, ServedError> {
        let mut status = self.status.clone();
        let outcome = tokio::time::timeout(
            timeout,
            status.wait_for(|s| s.refreshes > 0 || s.error.is_some()),
        )
        .await;
        match outcome {
            Ok(Ok(s)) if s.refreshes > 0 => Ok(self.status()),
            Ok(Ok(s)) => Err(s.error.clone().unwrap_or_else(not_ready)),
            Ok(Err(_)) | Err(_) => Err(not_ready()),
        }
    }

    /// Stops listening and refreshing, and waits for both to end.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn not_ready() -> ServedError {
    ServedError {
        code: "NotReady".to_owned(),
        message: "devboot is still fetching credentials on the host; retry in a moment".to_owned(),
    }
}

/// Starts the endpoint with default timing. `secret_path` may be given with or without its
/// leading `/`.
pub async fn start(
    bind: SocketAddr,
    secret_path: String,
    token: String,
    provider: SharedCredentialsProvider,
) -> Result<ServerHandle, AwsError> {
    start_with(bind, secret_path, token, provider, ServerOptions::default()).await
}

/// Starts the endpoint: binds, then fetches credentials in the background right away.
pub async fn start_with(
    bind: SocketAddr,
    secret_path: String,
    token: String,
    provider: SharedCredentialsProvider,
    options: ServerOptions,
) -> Result<ServerHandle, AwsError> {
    if bind.ip().is_unspecified() {
        return Err(AwsError::Bind {
            addr: bind.to_string(),
            message: "refusing to serve credentials on every interface".to_owned(),
        });
    }
    let secret_path = if secret_path.starts_with('/') {
        secret_path
    } else {
        format!("/{secret_path}")
    };
    if secret_path.len() < 2 || token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AwsError::Wiring {
            message: "the credential endpoint needs a non-empty path and a printable token"
                .to_owned(),
            hint: Some("generate both with `EndpointSecrets::generate`".to_owned()),
        });
    }
    let listener = TcpListener::bind(bind).await.map_err(|e| AwsError::Bind {
        addr: bind.to_string(),
        message: e.to_string(),
    })?;
    let local_addr = listener.local_addr().map_err(|e| AwsError::Bind {
        addr: bind.to_string(),
        message: e.to_string(),
    })?;

    let (cache, _) = watch::channel(Cache::default());
    let (status_tx, status) = watch::channel(ServerStatus::default());
    let (shutdown, _) = watch::channel(false);
    let shared = Arc::new(Shared {
        secret_path,
        token,
        options,
        cache,
        refresh_now: Notify::new(),
        served: AtomicU64::new(0),
        refused: AtomicU64::new(0),
    });
    let tasks = vec![
        tokio::spawn(refresher(
            shared.clone(),
            provider,
            status_tx,
            shutdown.subscribe(),
        )),
        tokio::spawn(accept_loop(listener, shared.clone(), shutdown.subscribe())),
    ];
    Ok(ServerHandle {
        local_addr,
        shared,
        status,
        shutdown,
        tasks,
    })
}

struct Shared {
    secret_path: String,
    token: String,
    options: ServerOptions,
    cache: watch::Sender<Cache>,
    refresh_now: Notify,
    served: AtomicU64,
    refused: AtomicU64,
}

impl Shared {
    fn allows(&self, peer: IpAddr) -> bool {
        self.options
            .allowed_peers
            .as_ref()
            .is_none_or(|allowed| allowed.contains(&peer.to_canonical()))
    }
}

/// What requests are answered from.
#[derive(Clone, Default)]
struct Cache {
    served: Option<Served>,
    error: Option<ServedError>,
}

/// A prepared 200 body (holds secrets: never logged) and its expiry.
#[derive(Clone)]
struct Served {
    body: Arc<str>,
    expires: SystemTime,
}

impl Cache {
    fn usable(&self, now: SystemTime) -> Option<&Served> {
        self.served.as_ref().filter(|s| s.expires > now)
    }
}

async fn refresher(
    shared: Arc<Shared>,
    provider: SharedCredentialsProvider,
    status: watch::Sender<ServerStatus>,
    mut shutdown: watch::Receiver<bool>,
) {
    let options = shared.options.clone();
    let mut last_fetch: Option<Instant> = None;
    loop {
        if let Some(last) = last_fetch {
            tokio::select! {
                () = tokio::time::sleep_until(last + options.min_refresh_interval) => {}
                _ = shutdown.changed() => return,
            }
        }
        last_fetch = Some(Instant::now());
        let fetched =
            tokio::time::timeout(options.fetch_timeout, provider.provide_credentials()).await;
        let now = SystemTime::now();
        let wait = match fetched {
            Ok(Ok(credentials)) => {
                let expires = credentials
                    .expiry()
                    .unwrap_or(now + options.static_lifetime);
                let body: Arc<str> = credentials_body(&credentials, expires).into();
                shared.cache.send_replace(Cache {
                    served: Some(Served { body, expires }),
                    error: None,
                });
                status.send_modify(|s| {
                    s.access_key_id_masked = Some(mask_key_id(credentials.access_key_id()));
                    s.expires = Some(expires);
                    s.refreshed_at = Some(now);
                    s.refreshes += 1;
                    s.error = None;
                });
                refresh_delay(expires, now, &options)
            }
            Ok(Err(error)) => {
                let served = served_error(&error);
                shared.cache.send_modify(|c| c.error = Some(served.clone()));
                status.send_modify(|s| s.error = Some(served));
                options.retry_after_error
            }
            Err(_) => {
                let served = ServedError {
                    code: "ProviderTimedOut".to_owned(),
                    message: format!(
                        "resolving credentials on the host took over {} s; run `devboot aws status` on the host to see why",
                        options.fetch_timeout.as_secs()
                    ),
                };
                shared.cache.send_modify(|c| c.error = Some(served.clone()));
                status.send_modify(|s| s.error = Some(served));
                options.retry_after_error
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shared.refresh_now.notified() => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// How long to serve `expires`-credentials before fetching new ones.
fn refresh_delay(expires: SystemTime, now: SystemTime, options: &ServerOptions) -> Duration {
    let left = expires.duration_since(now).unwrap_or_default();
    let until_refresh = left.saturating_sub(options.refresh_before_expiry);
    if until_refresh >= options.min_refresh_interval {
        until_refresh
    } else {
        // Short-lived credentials: refresh at half-life, never in a tight loop.
        (left / 2).max(options.min_refresh_interval)
    }
}

/// The 200 body: the keys, the token when there is one, and the expiry.
fn credentials_body(credentials: &Credentials, expires: SystemTime) -> String {
    let mut body = serde_json::Map::new();
    body.insert("AccessKeyId".into(), credentials.access_key_id().into());
    body.insert(
        "SecretAccessKey".into(),
        credentials.secret_access_key().into(),
    );
    if let Some(token) = credentials.session_token() {
        body.insert("Token".into(), token.into());
    }
    body.insert("Expiration".into(), rfc3339(expires).into());
    if let Some(account) = credentials.account_id() {
        body.insert("AccountId".into(), account.as_str().into());
    }
    serde_json::Value::Object(body).to_string()
}

/// A provider failure as code + message with the host-side fix.
fn served_error(error: &CredentialsError) -> ServedError {
    match aws_error_of(error) {
        Some(aws) => ServedError {
            code: aws.code().to_owned(),
            message: match aws.hint() {
                Some(hint) => format!("{aws}; on the host: {hint}"),
                None => aws.to_string(),
            },
        },
        None => ServedError {
            code: "ProviderError".to_owned(),
            message: format!(
                "{}; on the host: run `devboot aws status` to see why",
                error_chain(error)
            ),
        },
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let connections = Arc::new(Semaphore::new(shared.options.max_connections));
    let waiting: Arc<Mutex<Waiting>> = Arc::default();
    let mut next_id: u64 = 0;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                if !shared.allows(peer.ip()) {
                    shared.refused.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let Some(permit) = make_room(&connections, &waiting).await else {
                    // Every connection is busy with a request: drop this one rather than queue.
                    shared.refused.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                next_id += 1;
                let id = next_id;
                let (shared, headed) = (shared.clone(), waiting.clone());
                // Registered under the lock, so the task cannot unregister before it is listed.
                let mut queue = waiting.lock().expect("never poisoned: no panics while held");
                let task = tokio::spawn(async move {
                    let _permit = permit;
                    let _unlisted = Unlist(id, headed.clone());
                    let _ = serve_connection(stream, &shared, || unlist(&headed, id)).await;
                });
                queue.retain(|(_, task)| !task.is_finished());
                queue.push_back((id, task.abort_handle()));
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// Open connections that have not sent their request head yet, oldest first.
type Waiting = VecDeque<(u64, AbortHandle)>;

/// A permit for a new connection: a free one, or the one freed by closing the oldest
/// connection still waiting for its request head. `None` when every connection is serving.
async fn make_room(
    connections: &Arc<Semaphore>,
    waiting: &Mutex<Waiting>,
) -> Option<tokio::sync::OwnedSemaphorePermit> {
    if let Ok(permit) = connections.clone().try_acquire_owned() {
        return Some(permit);
    }
    let oldest = {
        let mut queue = waiting
            .lock()
            .expect("never poisoned: no panics while held");
        std::iter::from_fn(|| queue.pop_front()).find(|(_, task)| !task.is_finished())
    };
    let (_, task) = oldest?;
    task.abort();
    // The aborted task releases its permit as soon as the runtime drops it.
    tokio::time::timeout(
        Duration::from_millis(100),
        connections.clone().acquire_owned(),
    )
    .await
    .ok()?
    .ok()
}

fn unlist(waiting: &Mutex<Waiting>, id: u64) {
    if let Ok(mut queue) = waiting.lock() {
        queue.retain(|(listed, _)| *listed != id);
    }
}

/// Takes a connection off the waiting list when it ends, however it ends.
struct Unlist(u64, Arc<Mutex<Waiting>>);

impl Drop for Unlist {
    fn drop(&mut self) {
        unlist(&self.1, self.0);
    }
}

const MAX_REQUEST: usize = 8 * 1024;

/// Serves one request; `headed` runs once the request head is in (the connection is then no
/// longer closed to make room).
async fn serve_connection(
    mut stream: TcpStream,
    shared: &Shared,
    headed: impl FnOnce(),
) -> std::io::Result<()> {
    let head = tokio::time::timeout(shared.options.head_timeout, read_head(&mut stream)).await;
    headed();
    let (status, body) = match head {
        Ok(Ok(Some(head))) => respond(&head, shared).await,
        Ok(Ok(None)) => error_reply(400, "BadRequest", "malformed or oversized request"),
        Ok(Err(e)) => return Err(e),
        Err(_) => error_reply(408, "RequestTimeout", "the request took too long"),
    };
    if status == 200 {
        shared.served.fetch_add(1, Ordering::Relaxed);
    } else {
        shared.refused.fetch_add(1, Ordering::Relaxed);
    }
    let response = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        reason(status),
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// Reads up to the end of the request head; `None` if it is too long or the peer gave up.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0_u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            buffer.truncate(end);
            return Ok(String::from_utf8(buffer).ok());
        }
        if buffer.len() > MAX_REQUEST {
            return Ok(None);
        }
    }
}

async fn respond(head: &str, shared: &Shared) -> (u16, String) {
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let (method, target) = (
        request_line.next().unwrap_or_default(),
        request_line.next().unwrap_or_default(),
    );
    let authorization = lines.find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("authorization")
            .then(|| value.trim())
    });
    let path = target.split('?').next().unwrap_or_default();
    let path_ok = same(path.as_bytes(), shared.secret_path.as_bytes());
    // The token is checked first, so that the path cannot be probed without it.
    let authorized = match authorization {
        Some(a) => same(a.as_bytes(), shared.token.as_bytes()),
        None => shared.options.allow_missing_token && path_ok,
    };
    if !authorized {
        return error_reply(403, "AccessDenied", "missing or wrong Authorization header");
    }
    if !path_ok {
        return error_reply(404, "NotFound", "no credentials at this path");
    }
    if method != "GET" {
        return error_reply(405, "MethodNotAllowed", "only GET is served");
    }
    match current(shared).await {
        Ok(body) => (200, body.to_string()),
        Err(error) => error_reply(503, &error.code, &error.message),
    }
}

/// The credentials to serve, waiting briefly for a refresh if none are usable.
async fn current(shared: &Shared) -> Result<Arc<str>, ServedError> {
    let mut cache = shared.cache.subscribe();
    if let Some(served) = cache.borrow().usable(SystemTime::now()) {
        return Ok(served.body.clone());
    }
    shared.refresh_now.notify_one();
    let waited = tokio::time::timeout(
        shared.options.request_wait,
        cache.wait_for(|c| c.usable(SystemTime::now()).is_some()),
    )
    .await;
    if let Ok(Ok(cache)) = waited
        && let Some(served) = cache.usable(SystemTime::now())
    {
        return Ok(served.body.clone());
    }
    Err(shared
        .cache
        .borrow()
        .error
        .clone()
        .unwrap_or_else(not_ready))
}

fn error_reply(status: u16, code: &str, message: &str) -> (u16, String) {
    (
        status,
        serde_json::json!({ "code": code, "message": message }).to_string(),
    )
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        _ => "Service Unavailable",
    }
}

/// Equality that takes the same time wherever the inputs differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    use aws_credential_types::provider;

    use super::*;
    use crate::aws::testing::{TempHome, http_request, read_test_var};
    use crate::aws::{HostAws, HostOptions};

    fn local() -> SocketAddr {
        "127.0.0.1:0".parse().unwrap()
    }

    /// A provider backed by a temporary HOME's profile, as devboot builds it for real.
    fn profile_provider(home: &TempHome, profile: &str) -> SharedCredentialsProvider {
        let options = HostOptions {
            profile: Some(profile.into()),
            region: Some("eu-west-1".into()),
            endpoint_url: None,
        };
        HostAws::load(&home.env([]), &options)
            .unwrap()
            .container_provider()
    }

    fn static_home() -> TempHome {
        let home = TempHome::new();
        home.write(
            ".aws/credentials",
            "[dev]\naws_access_key_id = ASIAHOSTPROFILE00001\naws_secret_access_key = host-secret\naws_session_token = host-session-token\n",
        );
        home
    }

    /// Runs aws-config's own default chain in a child process whose whole environment is
    /// the container endpoint's (there is no other way to give aws-config a custom env).
    async fn sdk_probe(url: String, token: String, expect: &str, key: &str) -> String {
        let exe = std::env::current_exe().unwrap();
        let empty_home = TempHome::new();
        let (expect, key) = (expect.to_owned(), key.to_owned());
        let output = tokio::task::spawn_blocking(move || {
            std::process::Command::new(exe)
                .args([
                    "aws::server::tests::sdk_probe_child",
                    "--exact",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env_clear()
                .env("HOME", empty_home.path())
                .env("AWS_CONTAINER_CREDENTIALS_FULL_URI", url)
                .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", token)
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .env("AWS_REGION", "eu-west-1")
                .env("DEVBOOT_SDK_PROBE", expect)
                .env("DEVBOOT_SDK_PROBE_KEY", key)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "probe failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }

    /// The child half of [`sdk_probe`]: does nothing unless started by it.
    #[tokio::test]
    #[ignore = "runs only as a child process of the server tests"]
    async fn sdk_probe_child() {
        let Some(expect) = read_test_var("DEVBOOT_SDK_PROBE") else {
            return;
        };
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let result = config
            .credentials_provider()
            .unwrap()
            .provide_credentials()
            .await;
        match (expect.as_str(), result) {
            ("ok", Ok(credentials)) => {
                assert_eq!(
                    Some(credentials.access_key_id().to_owned()),
                    read_test_var("DEVBOOT_SDK_PROBE_KEY")
                );
                assert!(credentials.session_token().is_some());
                assert!(credentials.expiry().is_some_and(|e| e > SystemTime::now()));
                println!("sdk-probe: ok");
            }
            ("denied", Err(error)) => {
                let text = error_chain(&error);
                assert!(text.contains("403"), "{text}");
                println!("sdk-probe: denied");
            }
            (want, Ok(c)) => panic!("wanted {want}, got keys {}", mask_key_id(c.access_key_id())),
            (want, Err(e)) => panic!("wanted {want}, got {}", error_chain(&e)),
        }
    }

    #[tokio::test]
    async fn the_sdks_container_provider_gets_the_profiles_keys() {
        let home = static_home();
        let secrets = EndpointSecrets::generate().unwrap();
        let server = start(
            local(),
            secrets.path.clone(),
            secrets.token.clone(),
            profile_provider(&home, "dev"),
        )
        .await
        .unwrap();
        let status = server.wait_ready(Duration::from_secs(10)).await.unwrap();
        assert_eq!(
            status.access_key_id_masked.as_deref(),
            Some("****************0001")
        );
        let url = format!("http://{}{}", server.local_addr, secrets.path);

        let out = sdk_probe(
            url.clone(),
            secrets.token.clone(),
            "ok",
            "ASIAHOSTPROFILE00001",
        )
        .await;
        assert!(out.contains("sdk-probe: ok"), "{out}");

        let out = sdk_probe(url, "wrong-token".into(), "denied", "").await;
        assert!(out.contains("sdk-probe: denied"), "{out}");
        let status = server.status();
        assert!(
            status.requests_served >= 1 && status.requests_refused >= 1,
            "{status:?}"
        );
        server.shutdown().await;
    }

    #[tokio::test]
    async fn only_the_exact_path_token_and_method_get_secrets() {
        let home = static_home();
        let server = start(
            local(),
            "creds/abc".into(),
            "tok".into(),
            profile_provider(&home, "dev"),
        )
        .await
        .unwrap();
        server.wait_ready(Duration::from_secs(10)).await.unwrap();
        let addr = server.local_addr;

        let (status, body) = http_request(addr, "GET", "/creds/abc", Some("tok")).await;
        assert_eq!(status, 200);
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["AccessKeyId"], "ASIAHOSTPROFILE00001");
        assert_eq!(json["Token"], "host-session-token");
        let expires = crate::aws::parse_rfc3339(json["Expiration"].as_str().unwrap()).unwrap();
        assert!(expires > SystemTime::now() + Duration::from_secs(50 * 60));

        for (method, path, token, want) in [
            ("GET", "/creds/abc", None, 403),
            ("GET", "/creds/abc", Some("tok2"), 403),
            ("GET", "/creds/abd", Some("tok"), 404),
            ("GET", "/", Some("tok"), 404),
            ("POST", "/creds/abc", Some("tok"), 405),
        ] {
            let (status, body) = http_request(addr, method, path, token).await;
            assert_eq!(status, want, "{method} {path} {token:?}");
            assert!(
                !body.contains("host-secret") && !body.contains("ASIAHOST"),
                "{body}"
            );
            assert!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["code"].is_string());
        }
    }

    /// Hands out a new key each time, valid for `lifetime`.
    #[derive(Debug)]
    struct Rotating {
        calls: AtomicUsize,
        lifetime: Duration,
    }

    impl ProvideCredentials for Rotating {
        fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            provider::future::ProvideCredentials::ready(Ok(Credentials::new(
                format!("ASIAROTATING{n:08}"),
                "secret",
                Some("token".into()),
                Some(SystemTime::now() + self.lifetime),
                "test",
            )))
        }
    }

    #[tokio::test]
    async fn expiring_credentials_are_replaced_without_a_restart() {
        let options = ServerOptions {
            refresh_before_expiry: Duration::from_secs(1),
            min_refresh_interval: Duration::from_millis(50),
            ..ServerOptions::default()
        };
        let provider = SharedCredentialsProvider::new(Rotating {
            calls: AtomicUsize::new(0),
            lifetime: Duration::from_millis(1300),
        });
        let server = start_with(local(), "/c".into(), "t".into(), provider, options)
            .await
            .unwrap();
        server.wait_ready(Duration::from_secs(5)).await.unwrap();
        let key = |body: &str| {
            serde_json::from_str::<serde_json::Value>(body).unwrap()["AccessKeyId"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let (_, first) = http_request(server.local_addr, "GET", "/c", Some("t")).await;
        assert_eq!(key(&first), "ASIAROTATING00000001");
        let mut status = server.subscribe();
        tokio::time::timeout(
            Duration::from_secs(5),
            status.wait_for(|s| s.refreshes >= 2),
        )
        .await
        .unwrap()
        .unwrap();
        let (code, second) = http_request(server.local_addr, "GET", "/c", Some("t")).await;
        assert_eq!(code, 200);
        assert_ne!(key(&second), "ASIAROTATING00000001");
    }

    #[tokio::test]
    async fn host_side_failures_are_503_with_the_fix() {
        let home = TempHome::new();
        home.write(
            ".aws/config",
            "[profile dev]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = r\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n",
        );
        let server = start(
            local(),
            "/c".into(),
            "t".into(),
            profile_provider(&home, "dev"),
        )
        .await
        .unwrap();
        let error = server
            .wait_ready(Duration::from_secs(10))
            .await
            .unwrap_err();
        assert_eq!(error.code, "SsoLoginRequired");
        let (status, body) = http_request(server.local_addr, "GET", "/c", Some("t")).await;
        assert_eq!(status, 503);
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["code"], "SsoLoginRequired");
        assert!(
            json["message"]
                .as_str()
                .unwrap()
                .contains("run `aws sso login --profile dev` on the host"),
            "{body}"
        );
    }

    /// Fails until switched on, as a provider does before `aws sso login`.
    #[derive(Debug)]
    struct Switch(Mutex<bool>);

    impl ProvideCredentials for Switch {
        fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            let on = *self.0.lock().unwrap();
            provider::future::ProvideCredentials::ready(if on {
                Ok(Credentials::new(
                    "ASIASWITCHEDON000001",
                    "s",
                    Some("t".into()),
                    None,
                    "test",
                ))
            } else {
                Err(CredentialsError::provider_error("not logged in"))
            })
        }
    }

    #[tokio::test]
    async fn a_request_after_the_host_is_fixed_succeeds() {
        let switch = Arc::new(Switch(Mutex::new(false)));
        let options = ServerOptions {
            min_refresh_interval: Duration::from_millis(20),
            retry_after_error: Duration::from_secs(3600),
            ..ServerOptions::default()
        };
        let provider = SharedCredentialsProvider::new(ArcProvider(switch.clone()));
        let server = start_with(local(), "/c".into(), "t".into(), provider, options)
            .await
            .unwrap();
        let error = server.wait_ready(Duration::from_secs(5)).await.unwrap_err();
        assert_eq!(error.code, "ProviderError");
        *switch.0.lock().unwrap() = true;
        // No waiting for the hour-long retry: the request itself triggers the refresh.
        let (status, _) = http_request(server.local_addr, "GET", "/c", Some("t")).await;
        assert_eq!(status, 200);
    }

    #[derive(Debug)]
    struct ArcProvider(Arc<Switch>);

    impl ProvideCredentials for ArcProvider {
        fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            self.0.provide_credentials()
        }
    }

    #[tokio::test]
    async fn old_sdks_without_a_token_can_be_let_in_by_the_path_alone() {
        let provider = static_provider();
        let options = ServerOptions {
            allow_missing_token: true,
            ..ServerOptions::default()
        };
        let server = start_with(local(), "/secret".into(), "tok".into(), provider, options)
            .await
            .unwrap();
        server.wait_ready(Duration::from_secs(5)).await.unwrap();
        let addr = server.local_addr;
        assert_eq!(http_request(addr, "GET", "/secret", None).await.0, 200);
        assert_eq!(
            http_request(addr, "GET", "/secret", Some("tok")).await.0,
            200
        );
        assert_eq!(
            http_request(addr, "GET", "/secret", Some("bad")).await.0,
            403
        );
        // Without the token the path cannot be probed: a wrong one is refused, not "not found".
        assert_eq!(http_request(addr, "GET", "/other", None).await.0, 403);
    }

    fn static_provider() -> SharedCredentialsProvider {
        SharedCredentialsProvider::new(Credentials::new(
            "ASIASTATIC0000000001",
            "s",
            Some("t".into()),
            None,
            "test",
        ))
    }

    /// An endpoint at `/c` with token `t` serving static credentials, ready.
    async fn static_server(options: ServerOptions) -> ServerHandle {
        let server = start_with(local(), "/c".into(), "t".into(), static_provider(), options)
            .await
            .unwrap();
        server.wait_ready(Duration::from_secs(5)).await.unwrap();
        server
    }

    fn allowing(peer: &str) -> ServerOptions {
        ServerOptions {
            allowed_peers: Some(vec![peer.parse().unwrap()]),
            ..ServerOptions::default()
        }
    }

    #[tokio::test]
    async fn connections_from_other_addresses_are_closed_unanswered() {
        let server = static_server(allowing("169.254.170.2")).await;
        let mut stream = TcpStream::connect(server.local_addr).await.unwrap();
        // The request may meet a closed connection already; either way nothing comes back.
        let _ = stream
            .write_all(b"GET /c HTTP/1.1\r\nAuthorization: t\r\n\r\n")
            .await;
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response).await;
        assert!(
            response.is_empty(),
            "{}",
            String::from_utf8_lossy(&response)
        );
        let status = server.status();
        assert_eq!((status.requests_served, status.requests_refused), (0, 1));

        let server = static_server(allowing("127.0.0.1")).await;
        let (status, _) = http_request(server.local_addr, "GET", "/c", Some("t")).await;
        assert_eq!(status, 200);
    }

    #[tokio::test]
    async fn idle_connections_cannot_keep_a_request_out() {
        let server = static_server(ServerOptions::default()).await;
        let limit = ServerOptions::default().max_connections;
        // More idle clients than the endpoint takes at once, none sending a byte.
        let mut idle = Vec::new();
        for _ in 0..limit + 16 {
            idle.push(TcpStream::connect(server.local_addr).await.unwrap());
        }
        // The SDK gives up after 1 s.
        let answered = tokio::time::timeout(
            Duration::from_secs(1),
            http_request(server.local_addr, "GET", "/c", Some("t")),
        )
        .await
        .expect("the request is answered within the SDK's 1 s");
        assert_eq!(answered.0, 200);
        // The oldest idle connections were the ones closed to make room.
        let mut byte = [0_u8; 1];
        assert_eq!(idle[0].read(&mut byte).await.unwrap_or(0), 0);
    }

    #[tokio::test]
    async fn a_client_that_sends_no_request_is_timed_out() {
        let server = static_server(ServerOptions {
            head_timeout: Duration::from_millis(100),
            ..ServerOptions::default()
        })
        .await;
        let mut stream = TcpStream::connect(server.local_addr).await.unwrap();
        let mut response = String::new();
        tokio::time::timeout(Duration::from_secs(1), stream.read_to_string(&mut response))
            .await
            .unwrap()
            .unwrap();
        assert!(response.starts_with("HTTP/1.1 408 "), "{response}");
    }

    #[tokio::test]
    async fn refuses_to_listen_everywhere() {
        let provider = SharedCredentialsProvider::new(Credentials::for_tests());
        let err = start(
            "0.0.0.0:0".parse().unwrap(),
            "/c".into(),
            "t".into(),
            provider,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, AwsError::Bind { .. }), "{err}");
    }

    #[test]
    fn refresh_timing() {
        let options = ServerOptions::default();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let hour = Duration::from_secs(3600);
        assert_eq!(
            refresh_delay(now + hour, now, &options),
            Duration::from_secs(45 * 60)
        );
        // Ten-minute credentials: half-life, not a loop.
        assert_eq!(
            refresh_delay(now + Duration::from_secs(600), now, &options),
            Duration::from_secs(300)
        );
        assert_eq!(
            refresh_delay(now, now, &options),
            options.min_refresh_interval
        );
    }

    #[test]
    fn secrets_are_random_and_hidden_from_debug() {
        let a = EndpointSecrets::generate().unwrap();
        let b = EndpointSecrets::generate().unwrap();
        assert_ne!(a, b);
        assert!(a.path.starts_with("/creds/") && a.path.len() == 7 + 64);
        assert_eq!(a.token.len(), 64);
        assert_eq!(format!("{a:?}"), "EndpointSecrets { .. }");
    }
}
