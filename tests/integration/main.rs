//! devboot's integration tests: one binary, running the real `devboot` executable in
//! hermetic temporary projects. Tests marked as engine tests talk to a real Docker engine
//! (see `common::require_engine`).

// The harness is the one place that reads the real environment (to pass PATH through and to
// know whether CI requires the engine) and that announces skipped tests on stderr.
#![expect(clippy::disallowed_methods, reason = "see above")]
#![expect(clippy::print_stderr, reason = "see above")]

mod common;
mod private_engine;
mod relay;
mod report;
mod stack;

mod aws;
mod aws_endpoint;
mod capabilities;
mod catalog;
mod catalog_tarball;
mod cli;
mod compose;
mod config;
mod day_two;
mod db;
mod doctor;
mod doctor_aws;
mod doctor_tools;
mod engine;
mod faults;
mod hostile;
mod init;
mod install;
mod podman;
mod profile;
mod rails72;
mod remote;
