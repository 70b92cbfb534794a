//! The `fieldbook-server` binary; everything it does is in the library's `cli` module.

fn main() -> std::process::ExitCode {
    fieldbook_server::cli::tune_malloc();
    fieldbook_server::cli::main()
}
