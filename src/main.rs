//! The `devboot` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    devboot::run(std::env::args_os())
}
