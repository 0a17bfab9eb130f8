//! devboot's integration tests: one binary, running the real `devboot` executable in
//! hermetic temporary projects. Tests marked as engine tests talk to a real Docker engine
//! (see `common::require_engine`).

mod common;

mod cli;
mod config;
mod init;
mod profile;
