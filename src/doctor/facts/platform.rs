//! The engine's `info` as checks read it (or the outcome saying why it cannot be read), and
//! its platform as checks compare with it: its CPU architecture (`/info` `Architecture`), and
//! architectures named as OCI image configs name them.

use crate::doctor::check::Outcome;
use crate::doctor::engine::InfoSample;
use crate::doctor::facts::Facts;

/// The engine's `info`, or the error outcome saying why it cannot be read.
pub(crate) async fn engine_info(facts: &Facts) -> Result<&InfoSample, Outcome> {
    facts
        .engine_info()
        .await
        .map_err(|error| Outcome::error(format!("cannot read the engine's info: {error}")))
}

/// An architecture as OCI image configs name it: `amd64` for the engine's `x86_64`, `arm64`
/// for `aarch64`.
pub(crate) fn oci_arch(arch: &str) -> String {
    match arch.trim().to_ascii_lowercase().as_str() {
        "x86_64" | "x86-64" | "amd64" => "amd64".to_owned(),
        "aarch64" | "arm64" | "armv8" => "arm64".to_owned(),
        "armv7l" | "armhf" | "arm" => "arm".to_owned(),
        "i386" | "i686" | "x86" | "386" => "386".to_owned(),
        other => other.to_owned(),
    }
}

/// The engine's architecture (`/info` `Architecture`, e.g. `x86_64`), or the outcome saying
/// why it is unknown.
pub(crate) async fn engine_arch(facts: &Facts) -> Result<String, Outcome> {
    engine_info(facts)
        .await?
        .info
        .architecture
        .clone()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| Outcome::skipped("the engine does not report its architecture"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architectures_are_named_as_images_name_them() {
        assert_eq!(oci_arch("x86_64"), "amd64");
        assert_eq!(oci_arch("aarch64"), "arm64");
        assert_eq!(oci_arch("arm64"), "arm64");
        assert_eq!(oci_arch("s390x"), "s390x");
    }
}
