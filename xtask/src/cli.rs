//! Command-line parsing for `cargo xtask`. Pure: the environment is passed in, so the rules
//! for flags, environment fallbacks and defaults are unit-tested.

use std::path::{Path, PathBuf};

pub const USAGE: &str = "\
Usage: cargo xtask <command> [options]

Commands:
  run   [--port N] [--data-dir DIR]   install missing tools, build the app in release,
                                      serve dist/ on http://127.0.0.1:N
  build                               install missing tools, release build into dist/
  serve [--port N] [--dist DIR]       serve an already built dist/ (no build)
  test  [--skip-browser] [--skip-e2e] install missing tools, then fmt, clippy, host tests,
        [--full]                      browser tests, release build and Playwright e2e;
                                      --full: the long runs too (10,000 simulation seeds,
                                      20,000 fuzz cases per target, host tests in release)
  e2e   [--grep PATTERN]              release build and the Playwright tests only (those
                                      whose title matches PATTERN), for iterating on them
  schemathesis                        schemathesis against the OpenAPI document of a
                                      fresh server (a step of `test`), for iterating on it
  bench [--quick]                     release build, then the performance figures against
                                      their budgets as one table in bench/latest.md
                                      (--quick: 1,000 leads, one run, a short load)

Environment:
  FIELDBOOK_PORT      port when --port is not given (default 8080)
  FIELDBOOK_DATA_DIR  data folder when --data-dir is not given (default <repo>/.fieldbook-data)";

pub const DEFAULT_PORT: u16 = 8080;

#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Help,
    Run { port: u16, data_dir: PathBuf },
    Build,
    Serve { port: u16, dist: PathBuf },
    Test(TestOptions),
    E2e { grep: Option<String> },
    Schemathesis,
    Bench { quick: bool },
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TestOptions {
    /// Skips the wasm-bindgen browser tests (local iteration only; CI runs everything).
    pub skip_browser: bool,
    /// Skips the release build and the Playwright tests (local iteration only).
    pub skip_e2e: bool,
    /// The long runs too: 10,000 simulation seeds and 20,000 fuzz cases per target.
    pub full: bool,
}

/// Parses the arguments after `cargo xtask`. `env` looks up environment variables.
pub fn parse(
    args: &[String],
    env: &dyn Fn(&str) -> Option<String>,
    root: &Path,
) -> Result<Command, String> {
    let Some((name, rest)) = args.split_first() else {
        return Ok(Command::Help);
    };
    let mut flags = Flags::new(rest)?;
    let command = match name.as_str() {
        "help" | "-h" | "--help" => Command::Help,
        "run" => Command::Run {
            port: port(flags.value("port"), env)?,
            data_dir: flags
                .value("data-dir")
                .or_else(|| env("FIELDBOOK_DATA_DIR").filter(|dir| !dir.is_empty()))
                .map(PathBuf::from)
                .unwrap_or_else(|| root.join(".fieldbook-data")),
        },
        "build" => Command::Build,
        "serve" => Command::Serve {
            port: port(flags.value("port"), env)?,
            dist: flags
                .value("dist")
                .map(PathBuf::from)
                .unwrap_or_else(|| root.join("dist")),
        },
        "test" => Command::Test(TestOptions {
            skip_browser: flags.switch("skip-browser"),
            skip_e2e: flags.switch("skip-e2e"),
            full: flags.switch("full"),
        }),
        "e2e" => Command::E2e {
            grep: flags.value("grep"),
        },
        "schemathesis" => Command::Schemathesis,
        "bench" => Command::Bench {
            quick: flags.switch("quick"),
        },
        other => return Err(format!("unknown command `{other}`")),
    };
    flags.finish(name)?;
    Ok(command)
}

fn port(flag: Option<String>, env: &dyn Fn(&str) -> Option<String>) -> Result<u16, String> {
    let (text, source) = match flag {
        Some(text) => (text, "--port"),
        None => match env("FIELDBOOK_PORT").filter(|text| !text.is_empty()) {
            Some(text) => (text, "FIELDBOOK_PORT"),
            None => return Ok(DEFAULT_PORT),
        },
    };
    match text.trim().parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(format!(
            "{source} must be a port number from 1 to 65535, got `{text}`"
        )),
    }
}

/// `--name value`, `--name=value` and `--switch` flags, consumed by name so that leftovers
/// can be reported as unknown.
struct Flags {
    entries: Vec<(String, Option<String>)>,
}

impl Flags {
    fn new(args: &[String]) -> Result<Flags, String> {
        let mut entries = Vec::new();
        let mut iter = args.iter().peekable();
        while let Some(arg) = iter.next() {
            let Some(flag) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument `{arg}`"));
            };
            match flag.split_once('=') {
                Some((name, value)) => entries.push((name.to_string(), Some(value.to_string()))),
                None => {
                    let value = iter.next_if(|next| !next.starts_with("--")).cloned();
                    entries.push((flag.to_string(), value));
                }
            }
        }
        Ok(Flags { entries })
    }

    fn take(&mut self, name: &str) -> Option<Option<String>> {
        let index = self.entries.iter().position(|(flag, _)| flag == name)?;
        Some(self.entries.remove(index).1)
    }

    fn value(&mut self, name: &str) -> Option<String> {
        match self.take(name) {
            Some(Some(value)) => Some(value),
            Some(None) => {
                // Put it back so `finish` reports the missing value.
                self.entries.push((format!("{name} (needs a value)"), None));
                None
            }
            None => None,
        }
    }

    fn switch(&mut self, name: &str) -> bool {
        match self.take(name) {
            Some(None) => true,
            Some(Some(value)) => {
                self.entries
                    .push((format!("{name} (takes no value, got `{value}`)"), None));
                false
            }
            None => false,
        }
    }

    fn finish(self, command: &str) -> Result<(), String> {
        match self.entries.first() {
            None => Ok(()),
            Some((name, _)) => Err(format!("`{command}`: unexpected flag --{name}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_with(args: &[&str], env: &[(&str, &str)]) -> Result<Command, String> {
        let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
        let lookup = |name: &str| {
            env.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        };
        parse(&args, &lookup, Path::new("/repo"))
    }

    #[test]
    fn run_defaults_to_port_8080_and_the_repo_data_folder() {
        assert_eq!(
            parse_with(&["run"], &[]),
            Ok(Command::Run {
                port: 8080,
                data_dir: PathBuf::from("/repo/.fieldbook-data"),
            })
        );
    }

    #[test]
    fn flags_win_over_environment() {
        let env = [("FIELDBOOK_PORT", "9000"), ("FIELDBOOK_DATA_DIR", "/env")];
        assert_eq!(
            parse_with(&["run", "--port", "7000", "--data-dir=/flag"], &env),
            Ok(Command::Run {
                port: 7000,
                data_dir: PathBuf::from("/flag"),
            })
        );
        assert_eq!(
            parse_with(&["run"], &env),
            Ok(Command::Run {
                port: 9000,
                data_dir: PathBuf::from("/env"),
            })
        );
    }

    #[test]
    fn bad_ports_are_rejected_with_their_source() {
        let error = parse_with(&["run"], &[("FIELDBOOK_PORT", "http")]);
        assert!(matches!(error, Err(message) if message.contains("FIELDBOOK_PORT")));
        assert!(parse_with(&["serve", "--port", "0"], &[]).is_err());
        assert!(parse_with(&["serve", "--port", "70000"], &[]).is_err());
        assert!(parse_with(&["serve", "--port"], &[]).is_err());
    }

    #[test]
    fn serve_defaults_to_the_repo_dist() {
        assert_eq!(
            parse_with(&["serve", "--port", "4000"], &[]),
            Ok(Command::Serve {
                port: 4000,
                dist: PathBuf::from("/repo/dist"),
            })
        );
    }

    #[test]
    fn test_switches() {
        assert_eq!(
            parse_with(&["test", "--skip-e2e"], &[]),
            Ok(Command::Test(TestOptions {
                skip_browser: false,
                skip_e2e: true,
                full: false,
            }))
        );
        assert_eq!(
            parse_with(&["test", "--full"], &[]),
            Ok(Command::Test(TestOptions {
                full: true,
                ..TestOptions::default()
            }))
        );
        assert!(parse_with(&["test", "--skip-everything"], &[]).is_err());
        assert!(parse_with(&["test", "extra"], &[]).is_err());
    }

    #[test]
    fn bench_is_full_size_unless_quick() {
        assert_eq!(
            parse_with(&["bench"], &[]),
            Ok(Command::Bench { quick: false })
        );
        assert_eq!(
            parse_with(&["bench", "--quick"], &[]),
            Ok(Command::Bench { quick: true })
        );
        assert!(parse_with(&["bench", "--quick=yes"], &[]).is_err());
        assert!(parse_with(&["bench", "--fast"], &[]).is_err());
    }

    #[test]
    fn no_command_is_help_and_unknown_is_an_error() {
        assert_eq!(parse_with(&[], &[]), Ok(Command::Help));
        assert!(parse_with(&["deploy"], &[]).is_err());
    }
}
