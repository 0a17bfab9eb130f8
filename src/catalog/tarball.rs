//! The https tarball adapter: a catalog published as `https://host/profiles.tar.gz#sha256=HEX`.
//! The archive is downloaded (the platform's CA store, or `SSL_CERT_FILE`; `HTTPS_PROXY` and
//! `NO_PROXY`), its SHA-256 checked before a byte is unpacked, and unpacked with guards — a
//! hostile archive cannot write outside the cache, plant links or devices, or fill the disk —
//! into a temporary directory renamed to `tarballs/<digest>` in the catalog cache, so an
//! interrupted fetch leaves nothing half-done and a cached digest needs no network.

use std::io::Read as _;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper::Request;
use hyper::header::{AUTHORIZATION, CONTENT_LENGTH, HeaderValue, LOCATION, USER_AGENT};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioExecutor;

use crate::digest::Digest;
use crate::env::Environment;
use crate::error::Error;
use crate::redact::mask_url_passwords;

/// Largest archive downloaded.
pub const ARCHIVE_LIMIT: u64 = 32 * 1024 * 1024;
/// How much an archive may unpack to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most entries.
    pub entries: usize,
    /// Most bytes of file content.
    pub bytes: u64,
}

/// A catalog's archive: far above any real one, far below what would fill a disk.
pub const LIMITS: Limits = Limits {
    entries: 10_000,
    bytes: 64 * 1024 * 1024,
};
/// Redirects followed (release downloads commonly redirect once, to storage).
const REDIRECT_LIMIT: usize = 5;
/// How long connecting, or waiting for the next bytes, may take.
const STALL: Duration = Duration::from_secs(30);

/// How a download goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transfer<'a> {
    /// The server answered; `total` bytes when it said how many.
    Started {
        catalog: &'a str,
        total: Option<u64>,
    },
    /// Bytes received so far.
    Received(u64),
    /// Over: every byte arrived (`complete`), or the download failed.
    Ended { complete: bool },
}

/// Told how a download goes, from the thread that downloads.
pub type OnProgress<'a> = &'a (dyn Fn(Transfer<'_>) + Sync);

/// Where the archive with `digest` is unpacked under the catalog cache `cache`.
pub fn dir(cache: &Path, digest: &str) -> PathBuf {
    cache.join("tarballs").join(digest)
}

/// The unpacked archive of catalog `catalog` (fetched from `url` when the cache lacks it),
/// which has exactly the SHA-256 `digest`.
pub fn ensure(
    env: &Environment,
    catalog: &str,
    url: &str,
    digest: &str,
    cache: &Path,
    on_progress: OnProgress<'_>,
) -> Result<PathBuf, Error> {
    let target = dir(cache, digest);
    if target.is_dir() {
        return Ok(target);
    }
    let shown = mask_url_passwords(url);
    let downloaded = download(env, catalog, url, on_progress);
    on_progress(Transfer::Ended {
        complete: downloaded.is_ok(),
    });
    let bytes = downloaded.map_err(|reason| Error::Catalog {
        message: format!(
            "cannot fetch catalog `{catalog}` from {shown}: {}",
            mask_url_passwords(&reason)
        ),
        hint: Some(
            "check the URL and your network; behind a proxy set HTTPS_PROXY (and NO_PROXY), \
             for a private CA set SSL_CERT_FILE to its PEM bundle"
                .to_owned(),
        ),
    })?;
    verify(catalog, digest, &bytes)?;
    unpack(&bytes, &target, LIMITS).map_err(|reason| Error::Catalog {
        message: format!("catalog `{catalog}` ({shown}) is refused: {reason}"),
        hint: Some(
            "nothing was unpacked; ask the catalog's maintainers to publish an archive of \
             plain files and directories under one root"
                .to_owned(),
        ),
    })?;
    Ok(target)
}

/// Refuses `bytes` unless their SHA-256 is `expected`.
pub fn verify(catalog: &str, expected: &str, bytes: &[u8]) -> Result<(), Error> {
    let actual = Digest::of(bytes).into_string();
    if actual == expected {
        return Ok(());
    }
    Err(Error::Catalog {
        message: format!(
            "catalog `{catalog}`: the downloaded archive does not have the digest devboot.toml pins \
             (expected sha256 {expected}, got sha256 {actual}); nothing was unpacked"
        ),
        hint: Some(format!(
            "if the catalog's maintainers published a new archive, review it and put \
             `#sha256={actual}` in `[catalogs] {catalog}`, then run `devboot profile update \
             --dry-run`; otherwise the download was altered on its way: do not use it"
        )),
    })
}

/// Downloads `url` (at most [`ARCHIVE_LIMIT`] bytes), on a thread of its own so it can run
/// whether or not the caller is inside an async runtime.
fn download(
    env: &Environment,
    catalog: &str,
    url: &str,
    on_progress: OnProgress<'_>,
) -> Result<Vec<u8>, String> {
    let tls = tls_config(env)?;
    let proxies = Matcher::builder()
        .https(var(env, "HTTPS_PROXY").unwrap_or_default())
        .no(var(env, "NO_PROXY").unwrap_or_default())
        .build();
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("starting the async runtime: {e}"))?
                    .block_on(get(catalog, url, &tls, &proxies, on_progress))
            })
            .join()
            .unwrap_or_else(|_| Err("the download thread panicked".to_owned()))
    })
}

/// `NAME`, else `name`, as curl and Go read proxy settings.
fn var(env: &Environment, name: &str) -> Option<String> {
    env.var(name)
        .or_else(|| env.var(&name.to_ascii_lowercase()))
        .map(str::to_owned)
}

/// Trusted roots: `SSL_CERT_FILE` (a PEM bundle) when set, as OpenSSL and git read it, else
/// the platform's store.
fn tls_config(env: &Environment) -> Result<rustls::ClientConfig, String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    if let Some(file) = env.var("SSL_CERT_FILE") {
        let certs = CertificateDer::pem_file_iter(file)
            .map_err(|e| format!("SSL_CERT_FILE `{file}`: {e}"))?;
        for cert in certs {
            let cert = cert.map_err(|e| format!("SSL_CERT_FILE `{file}`: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("SSL_CERT_FILE `{file}`: {e}"))?;
        }
    } else {
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
    }
    if roots.is_empty() {
        return Err("no trusted CA certificates found (set SSL_CERT_FILE to a PEM bundle)".into());
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// GETs `url`, following https redirects; the URL's user and password go as basic auth, to
/// its own host only.
async fn get(
    catalog: &str,
    url: &str,
    tls: &rustls::ClientConfig,
    proxies: &Matcher,
    on_progress: OnProgress<'_>,
) -> Result<Vec<u8>, String> {
    let mut at = url::Url::parse(url).map_err(|e| e.to_string())?;
    let auth = basic_auth(&at);
    let origin = at.origin();
    for _ in 0..=REDIRECT_LIMIT {
        if at.scheme() != "https" {
            return Err(format!(
                "redirected to `{}`, which is not https",
                strip(&at)
            ));
        }
        let uri: hyper::Uri = strip(&at).parse().map_err(|e| format!("{e}"))?;
        let mut request = Request::get(uri.clone())
            .header(USER_AGENT, concat!("devboot/", env!("CARGO_PKG_VERSION")));
        if let Some(auth) = auth.as_ref().filter(|_| at.origin() == origin) {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        let request = request
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(STALL));
        let builder = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls.clone())
            .https_only()
            .enable_http1();
        let response = match proxies.intercept(&uri) {
            Some(proxy) => {
                let mut tunnel = Tunnel::new(proxy.uri().clone(), http);
                if let Some(auth) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                send(builder.wrap_connector(tunnel), request).await?
            }
            None => send(builder.wrap_connector(http), request).await?,
        };
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .ok_or_else(|| format!("the server answered {status} without a Location"))?;
            at = at.join(location).map_err(|e| e.to_string())?;
            continue;
        }
        if !status.is_success() {
            return Err(format!("the server answered {status}"));
        }
        let total = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if total.is_some_and(|t| t > ARCHIVE_LIMIT) {
            return Err(too_large());
        }
        let mut body = response.into_body();
        let mut bytes = Vec::new();
        on_progress(Transfer::Started { catalog, total });
        loop {
            let frame = tokio::time::timeout(STALL, body.frame())
                .await
                .map_err(|_| format!("no data for {}s", STALL.as_secs()))?;
            let Some(frame) = frame else { break };
            let frame = frame.map_err(|e| e.to_string())?;
            if let Ok(data) = frame.into_data() {
                bytes.extend_from_slice(&data);
                if bytes.len() as u64 > ARCHIVE_LIMIT {
                    return Err(too_large());
                }
                on_progress(Transfer::Received(bytes.len() as u64));
            }
        }
        return Ok(bytes);
    }
    Err(format!("more than {REDIRECT_LIMIT} redirects"))
}

fn too_large() -> String {
    format!(
        "the archive is larger than a catalog may be ({} MiB)",
        ARCHIVE_LIMIT / 1024 / 1024
    )
}

async fn send<C>(
    connector: C,
    request: Request<Empty<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, String>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let client = Client::builder(TokioExecutor::new()).build(connector);
    tokio::time::timeout(STALL, client.request(request))
        .await
        .map_err(|_| format!("no answer in {}s", STALL.as_secs()))?
        .map_err(|e| causes(&e))
}

/// An error with its causes (`client error (Connect): invalid peer certificate: UnknownIssuer`).
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// The URL without its user and password.
fn strip(url: &url::Url) -> String {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.into()
}

fn basic_auth(url: &url::Url) -> Option<HeaderValue> {
    use base64::Engine as _;
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let pair = format!(
        "{}:{}",
        decode(url.username()),
        decode(url.password().unwrap_or_default())
    );
    let mut value = HeaderValue::from_str(&format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    ))
    .ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// Unpacks a tar archive (gzip'd or not) into `target`, which must not exist, refusing the
/// whole archive when an entry would escape it (absolute, `..`, a link pointing out), is a
/// device or FIFO, or the archive holds more than `limits` allow. Links inside the archive are not created (catalogs are read
/// without following links). A single top directory holding everything (`name-1.2/…`, as
/// release archives have) becomes the root. Atomic: a temporary directory beside `target` is
/// renamed to it.
pub fn unpack(bytes: &[u8], target: &Path, limits: Limits) -> Result<(), String> {
    let parent = target
        .parent()
        .ok_or_else(|| "the cache has no parent directory".to_owned())?;
    std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    let temp = tempfile::Builder::new()
        .prefix(".unpacking-")
        .tempdir_in(parent)
        .map_err(|e| format!("{}: {e}", parent.display()))?;
    let reader: Box<dyn std::io::Read> = if bytes.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(bytes))
    } else {
        Box::new(bytes)
    };
    // Decompressed bytes are capped too, so a small bomb cannot inflate without end.
    let mut archive = tar::Archive::new(reader.take(limits.bytes * 2));
    let mut size = 0u64;
    let mut count = 0usize;
    for entry in archive
        .entries()
        .map_err(|e| format!("not a tar archive: {e}"))?
    {
        let mut entry = entry.map_err(|e| format!("not a tar archive: {e}"))?;
        count += 1;
        if count > limits.entries {
            return Err(format!("it holds more than {} entries", limits.entries));
        }
        let path = entry
            .path()
            .map_err(|e| format!("an entry's name: {e}"))?
            .into_owned();
        let relative = inside(&path)?;
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            let link = entry
                .link_name()
                .map_err(|e| format!("`{}`: {e}", path.display()))?
                .unwrap_or_default();
            // A hard link names a path from the root; a symbolic one, from its own directory.
            let from_root = if kind.is_hard_link() {
                link.to_path_buf()
            } else {
                relative
                    .as_deref()
                    .and_then(Path::parent)
                    .unwrap_or(Path::new(""))
                    .join(&link)
            };
            if !stays_inside(&from_root) {
                return Err(format!(
                    "`{}` links to `{}`, outside the archive",
                    path.display(),
                    link.display()
                ));
            }
            continue;
        }
        if kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        let Some(relative) = relative else { continue };
        let at = temp.path().join(&relative);
        if kind.is_dir() {
            std::fs::create_dir_all(&at).map_err(|e| format!("{}: {e}", relative.display()))?;
        } else if kind.is_file() || kind.is_contiguous() {
            size += entry.size();
            if size > limits.bytes {
                return Err(format!(
                    "it unpacks to more than {} MiB",
                    limits.bytes / 1024 / 1024
                ));
            }
            if let Some(dir) = at.parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", relative.display()))?;
            }
            let mut file =
                std::fs::File::create(&at).map_err(|e| format!("{}: {e}", relative.display()))?;
            std::io::copy(&mut (&mut entry).take(limits.bytes), &mut file)
                .map_err(|e| format!("{}: {e}", relative.display()))?;
        } else {
            return Err(format!(
                "`{}` is not a file or directory (a device, FIFO or unknown entry)",
                path.display()
            ));
        }
    }
    let root = single_top_directory(temp.path()).unwrap_or_else(|| temp.path().to_owned());
    match std::fs::rename(&root, target) {
        Ok(()) => Ok(()),
        // Another devboot unpacked the same digest first: its copy is as good.
        Err(_) if target.is_dir() => Ok(()),
        Err(e) => Err(format!("{}: {e}", target.display())),
    }
}

/// An entry's path made relative and checked: `None` for the root itself (`./`); an error for
/// an absolute path or one with `..`.
fn inside(path: &Path) -> Result<Option<PathBuf>, String> {
    let mut clean = PathBuf::new();
    for part in path.components() {
        match part {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(format!("`{}` leaves the archive", path.display()));
            }
        }
    }
    Ok((!clean.as_os_str().is_empty()).then_some(clean))
}

/// Whether `path`, read from the archive's root with `..` taken back, stays inside it.
fn stays_inside(path: &Path) -> bool {
    let mut depth = 0usize;
    path.components().all(|part| match part {
        Component::Normal(_) => {
            depth += 1;
            true
        }
        Component::CurDir => true,
        Component::ParentDir => depth.checked_sub(1).map(|d| depth = d).is_some(),
        Component::RootDir | Component::Prefix(_) => false,
    })
}

/// The one directory `dir` holds, when it holds nothing else and no `profiles/` of its own.
fn single_top_directory(dir: &Path) -> Option<PathBuf> {
    let mut entries = std::fs::read_dir(dir).ok()?;
    let only = entries.next()?.ok()?;
    if entries.next().is_some() || only.file_name() == "profiles" {
        return None;
    }
    only.file_type().ok()?.is_dir().then(|| only.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar archive of `entries` (path, type, content or link target), gzip'd.
    fn archive(entries: &[(&str, tar::EntryType, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, kind, content) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_mode(0o644);
            // Written raw: the builder's own setters refuse `..`, which a hostile archive has.
            let name = &mut header.as_old_mut().name;
            name[..path.len()].copy_from_slice(path.as_bytes());
            if kind.is_symlink() || kind.is_hard_link() {
                header.set_link_name(content).unwrap();
                header.set_size(0);
                header.set_cksum();
                builder.append(&header, std::io::empty()).unwrap();
            } else {
                let data = if kind.is_file() {
                    content.as_bytes()
                } else {
                    b""
                };
                header.set_size(data.len() as u64);
                header.set_cksum();
                builder.append(&header, data).unwrap();
            }
        }
        let tar = builder.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        gz.finish().unwrap()
    }

    use tar::EntryType::{Block, Char, Directory, Fifo, Link, Regular, Symlink};

    #[test]
    fn an_archive_unpacks_under_its_single_top_directory() {
        let cache = tempfile::tempdir().unwrap();
        let target = cache.path().join("tarballs/abc");
        let bytes = archive(&[
            ("acme-2.1.0/", Directory, ""),
            ("acme-2.1.0/profiles/rails.toml", Regular, "schema = 1\n"),
            (
                "acme-2.1.0/profiles/link.toml",
                Symlink,
                "../profiles/rails.toml",
            ),
        ]);
        unpack(&bytes, &target, LIMITS).unwrap();
        assert_eq!(
            std::fs::read_to_string(target.join("profiles/rails.toml")).unwrap(),
            "schema = 1\n"
        );
        assert!(!target.join("profiles/link.toml").exists());
        let left: Vec<_> = std::fs::read_dir(cache.path().join("tarballs"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["abc"], "no temporary directory is left");
    }

    #[test]
    fn hostile_entries_refuse_the_whole_archive_and_leave_nothing() {
        let file = ("profiles/rails.toml", Regular, "schema = 1\n");
        for (bad, why) in [
            (("../evil.toml", Regular, "x"), "leaves the archive"),
            (
                ("profiles/../../evil.toml", Regular, "x"),
                "leaves the archive",
            ),
            (("/etc/evil.toml", Regular, "x"), "leaves the archive"),
            (
                ("profiles/up", Symlink, "../../outside"),
                "outside the archive",
            ),
            (
                ("profiles/abs", Symlink, "/etc/passwd"),
                "outside the archive",
            ),
            (
                ("profiles/hard", Link, "../etc/passwd"),
                "outside the archive",
            ),
            (("profiles/deep", Symlink, "../../x"), "outside the archive"),
            (("dev", Char, ""), "device"),
            (("blk", Block, ""), "device"),
            (("fifo", Fifo, ""), "device"),
        ] {
            let cache = tempfile::tempdir().unwrap();
            let target = cache.path().join("tarballs/abc");
            let error = unpack(&archive(&[file, bad]), &target, LIMITS).unwrap_err();
            assert!(error.contains(why), "{bad:?}: {error}");
            assert!(!target.exists(), "{bad:?}");
            assert_eq!(
                std::fs::read_dir(cache.path().join("tarballs"))
                    .unwrap()
                    .count(),
                0,
                "{bad:?}: the temporary directory is removed"
            );
            assert!(!cache.path().join("evil.toml").exists());
        }
    }

    #[test]
    fn entry_count_and_unpacked_size_are_capped() {
        let cache = tempfile::tempdir().unwrap();
        let small = Limits {
            entries: 100,
            bytes: 1024 * 1024,
        };
        let names: Vec<String> = (0..=small.entries).map(|i| format!("d{i}/")).collect();
        let many: Vec<_> = names.iter().map(|n| (n.as_str(), Directory, "")).collect();
        let error = unpack(&archive(&many), &cache.path().join("a"), small).unwrap_err();
        assert!(error.contains("more than 100 entries"), "{error}");

        // A bomb: far more zeros than the cap, compressed to little.
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(small.bytes + 1);
        header.set_cksum();
        builder
            .append_data(
                &mut header,
                "profiles/huge.toml",
                std::io::repeat(0).take(small.bytes + 1),
            )
            .unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &builder.into_inner().unwrap()).unwrap();
        let bomb = gz.finish().unwrap();
        assert!(bomb.len() < 10 * 1024);
        let error = unpack(&bomb, &cache.path().join("b"), small).unwrap_err();
        assert!(error.contains("more than 1 MiB"), "{error}");
        assert!(!cache.path().join("b").exists());
    }

    #[test]
    fn a_digest_mismatch_names_both_digests_and_the_fix() {
        let error = verify("acme", &"0".repeat(64), b"archive").unwrap_err();
        let text = format!("{error} / {}", error.hint().unwrap_or_default());
        insta::assert_snapshot!(text);
        assert!(verify("acme", &Digest::of(b"archive").into_string(), b"archive").is_ok());
    }

    #[test]
    fn url_credentials_go_as_basic_auth_never_in_the_request_line() {
        use base64::Engine as _;
        let url = url::Url::parse("https://tok%40en:s3cret@host.example/p.tgz").unwrap();
        assert_eq!(strip(&url), "https://host.example/p.tgz");
        let auth = basic_auth(&url).unwrap();
        assert!(auth.is_sensitive());
        let encoded = auth.to_str().unwrap().strip_prefix("Basic ").unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        assert_eq!(decoded, b"tok@en:s3cret");
        assert!(basic_auth(&url::Url::parse("https://host.example/p").unwrap()).is_none());
    }
}
