//! Content digests: the SHA-256 of some bytes, hex encoded. A leaf: it depends on nothing in
//! the crate, so the planner, the workspace and the engine can all name a digest.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// A SHA-256 content digest, hex encoded.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Digest(String);

impl Digest {
    pub fn of(bytes: &[u8]) -> Self {
        Self::hex(&Sha256::digest(bytes))
    }

    fn hex(hash: &[u8]) -> Self {
        Self(
            hash.iter()
                .fold(String::with_capacity(64), |mut hex, byte| {
                    let _ = write!(hex, "{byte:02x}");
                    hex
                }),
        )
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The digest of everything written to it, for bytes that are never held in memory at once.
#[derive(Default)]
pub struct DigestWriter(Sha256);

impl DigestWriter {
    pub fn finish(self) -> Digest {
        Digest::hex(&self.0.finalize())
    }
}

impl std::io::Write for DigestWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_digest_equals_the_digest_of_the_bytes() {
        use std::io::Write as _;
        let mut writer = DigestWriter::default();
        writer.write_all(b"Gemfile").unwrap();
        writer.write_all(b".lock").unwrap();
        assert_eq!(writer.finish(), Digest::of(b"Gemfile.lock"));
    }

    #[test]
    fn a_digest_is_the_hex_sha256() {
        assert_eq!(
            Digest::of(b"").as_str(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
