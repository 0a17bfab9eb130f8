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

pub(crate) use crate::model::platform::oci_arch;

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
