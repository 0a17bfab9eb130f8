//! Platforms as images and engines name them (`linux/amd64`, `linux/arm64/v8`): parsing the
//! profile's `platform` key, the engine's own platform from its `/info`, and whether a platform
//! an image offers runs on the one wanted.

use std::fmt;

use serde::{Serialize, Serializer};

/// An OS, a CPU architecture as OCI images name it, and an optional variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    /// Parses `os/architecture[/variant]`, e.g. `linux/amd64`; architectures are normalised
    /// (`x86_64` is `amd64`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let invalid = || {
            format!(
                "`{text}` is not a platform; write `os/architecture`, like `linux/amd64` or `linux/arm64`"
            )
        };
        let mut parts = text.split('/');
        let (Some(os), Some(architecture)) = (parts.next(), parts.next()) else {
            return Err(invalid());
        };
        let variant = parts.next();
        let word =
            |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if parts.next().is_some()
            || !word(os)
            || !word(architecture)
            || variant.is_some_and(|v| !word(v))
        {
            return Err(invalid());
        }
        Ok(Self {
            os: os.to_ascii_lowercase(),
            architecture: oci_arch(architecture),
            variant: variant.map(str::to_ascii_lowercase),
        })
    }

    /// The engine's platform from its `/info` (`OSType` `linux`, `Architecture` `x86_64`).
    pub fn of_engine(os_type: &str, architecture: &str) -> Self {
        Self {
            os: os_type.trim().to_ascii_lowercase(),
            architecture: oci_arch(architecture),
            variant: None,
        }
    }

    /// Whether an image built for `offered` runs here: the same OS and architecture, and the
    /// same variant when both name one.
    pub fn runs(&self, offered: &Self) -> bool {
        self.os == offered.os
            && self.architecture == offered.architecture
            && match (&self.variant, &offered.variant) {
                (Some(wanted), Some(offered)) => wanted == offered,
                _ => true,
            }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

impl Serialize for Platform {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// An architecture as OCI image configs name it: `amd64` for the engine's `x86_64`, `arm64`
/// for `aarch64`.
pub fn oci_arch(arch: &str) -> String {
    match arch.trim().to_ascii_lowercase().as_str() {
        "x86_64" | "x86-64" | "amd64" => "amd64".to_owned(),
        "aarch64" | "arm64" | "armv8" => "arm64".to_owned(),
        "armv7l" | "armhf" | "arm" => "arm".to_owned(),
        "i386" | "i686" | "x86" | "386" => "386".to_owned(),
        other => other.to_owned(),
    }
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

    #[test]
    fn platforms_parse_as_people_write_them() {
        let amd64 = Platform::parse("linux/amd64").unwrap();
        assert_eq!(amd64.to_string(), "linux/amd64");
        assert_eq!(Platform::parse("linux/x86_64").unwrap(), amd64);
        assert_eq!(
            Platform::parse("linux/arm64/v8").unwrap().to_string(),
            "linux/arm64/v8"
        );
        for bad in [
            "amd64",
            "linux/",
            "/amd64",
            "linux/amd64/v8/x",
            "linux/amd 64",
            "",
        ] {
            let error = Platform::parse(bad).unwrap_err();
            assert!(error.contains("linux/amd64"), "{bad}: {error}");
        }
    }

    #[test]
    fn an_image_runs_where_os_and_architecture_match() {
        let engine = Platform::of_engine("linux", "x86_64");
        assert!(engine.runs(&Platform::parse("linux/amd64").unwrap()));
        assert!(!engine.runs(&Platform::parse("linux/arm64").unwrap()));
        assert!(!engine.runs(&Platform::parse("windows/amd64").unwrap()));
        let v8 = Platform::parse("linux/arm64/v8").unwrap();
        assert!(v8.runs(&Platform::parse("linux/arm64").unwrap()));
        assert!(!v8.runs(&Platform::parse("linux/arm64/v7").unwrap()));
    }
}
