//! Facts about the host machine that the gate before `up` and `doctor` both need: which
//! ports are free (and who holds the taken ones), and which tools are installed at which
//! version. Reads the OS; never changes it.

pub mod ports;
pub mod tools;
