//! The Docker engine adapter: the only code that talks to the Docker Engine API (through
//! bollard). Finding the endpoint like the Docker CLI does, connecting with a negotiated API
//! version (over a unix socket, TCP with or without TLS, or SSH), registry credentials, build contexts, and the operations `up`, `down`, `status`
//! and `logs` are made of.

pub mod attach;
pub mod auth;
pub mod build_context;
pub mod connect;
pub mod containers;
pub mod converge;
pub mod credential_relay;
pub mod dumps;
pub mod endpoint;
pub mod helper;
pub mod images;
pub mod observe;
pub mod postgres;
pub mod progress;
pub mod provider;
pub mod snapshots;
pub mod spec;
pub mod ssh;
pub mod stacks;
pub mod upgrade;
