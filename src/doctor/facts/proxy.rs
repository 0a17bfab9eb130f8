//! HTTP proxy settings, the host's (`HTTP(S)_PROXY`, `NO_PROXY` of the environment doctor
//! runs in) and the engine's (`/info` `HttpProxy`, `HttpsProxy`, `NoProxy`), with proxy URLs
//! shown with their password replaced ([`shown`]).

use crate::doctor::facts::Facts;
use crate::redact::mask_url_passwords;

/// One proxy setting and the name it was read under (`HTTPS_PROXY`, `https_proxy`,
/// `HttpsProxy`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Setting {
    pub(crate) name: &'static str,
    pub(crate) value: String,
}

impl Setting {
    /// `NAME=value`, with the password of a proxy URL replaced.
    fn shown(&self) -> String {
        format!("{}={}", self.name, shown(&self.value))
    }
}

/// HTTP proxy settings: the host's environment, or the engine's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ProxySettings {
    pub(crate) http: Option<Setting>,
    pub(crate) https: Option<Setting>,
    pub(crate) no_proxy: Option<Setting>,
}

impl ProxySettings {
    /// The host's, from the environment doctor runs in: each upper-case name first, then the
    /// lower-case one, as Go (and so Docker) reads them.
    pub(crate) fn of_host(facts: &Facts) -> Self {
        let either = |upper: &'static str, lower: &'static str| {
            [upper, lower].into_iter().find_map(|name| {
                facts.var(name).map(|value| Setting {
                    name,
                    value: value.to_owned(),
                })
            })
        };
        Self {
            http: either("HTTP_PROXY", "http_proxy"),
            https: either("HTTPS_PROXY", "https_proxy"),
            no_proxy: either("NO_PROXY", "no_proxy"),
        }
    }

    /// The engine's, as `/info` reports them (empty counts as unset).
    pub(crate) fn of_engine(
        http: Option<&str>,
        https: Option<&str>,
        no_proxy: Option<&str>,
    ) -> Self {
        let setting = |name: &'static str, value: Option<&str>| {
            value
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|value| Setting {
                    name,
                    value: value.to_owned(),
                })
        };
        Self {
            http: setting("HttpProxy", http),
            https: setting("HttpsProxy", https),
            no_proxy: setting("NoProxy", no_proxy),
        }
    }

    /// The proxy the host's tools use: for HTTPS, else for HTTP.
    pub(crate) fn any_proxy(&self) -> Option<&Setting> {
        self.https.as_ref().or(self.http.as_ref())
    }

    pub(crate) fn no_proxy_value(&self) -> &str {
        self.no_proxy.as_ref().map_or("", |s| s.value.as_str())
    }

    /// Every setting as `NAME=value` (passwords replaced), or `none`.
    pub(crate) fn describe(&self, none: &str) -> String {
        let all: Vec<String> = [&self.http, &self.https, &self.no_proxy]
            .into_iter()
            .flatten()
            .map(Setting::shown)
            .collect();
        if all.is_empty() {
            none.to_owned()
        } else {
            all.join(", ")
        }
    }
}

/// A proxy URL for messages, its password replaced by `***` ([`mask_url_passwords`]); also in a
/// value without a scheme (`bob:pw@proxy:3128`), which Go and curl read as `http://`.
pub(crate) fn shown(url: &str) -> String {
    if url.contains("://") {
        return mask_url_passwords(url);
    }
    let redacted = mask_url_passwords(&format!("http://{url}"));
    redacted
        .strip_prefix("http://")
        .map_or(redacted.clone(), str::to_owned)
}
