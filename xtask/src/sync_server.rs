//! The real sync server for the end-to-end tests: `fieldbook-server serve --demo` on a free
//! port, with a fresh SQLite database and the release `dist/`, plus a pool of rep accounts so
//! that every test signs in as someone with an empty book.
//!
//! The logins reach Playwright as a JSON file named by `FIELDBOOK_LOGINS_FILE` (not the
//! environment, which the step's log line shows):
//! `{ "demo": [{ "login", "password", "role" }…], "pool": [{ "login", "password", "role" }…] }`.
//! The one-time passwords are read from the server's own output, the way an admin would.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::postgres::free_port;
use crate::process::{Cmd, Workspace};

/// Rep accounts made for the tests that need a book of their own.
const POOL: usize = 80;
const POOL_TEAM: &str = "e2e";

/// A team of its own for the test of a manager resetting a rep's password (its rep's
/// password changes, and nobody else's book may see its manager).
const ACCOUNTS_TEAM: &str = "e2e-accounts";
const ACCOUNTS: [(&str, &str, &str); 2] = [
    ("e2e-lead", "E2E Manager", "manager"),
    ("e2e-reset", "E2E Reset Rep", "rep"),
];

/// A running server; stopped on drop.
pub struct SyncServer {
    child: Child,
    port: u16,
    logins_json: String,
    /// Every login made, with the password it chose.
    logins: Vec<Login>,
    data_dir: PathBuf,
    binary: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Login {
    login: String,
    password: String,
    role: String,
}

impl SyncServer {
    /// Builds the server (the dev profile the host tests already compiled), creates the
    /// accounts and starts it on `dist`.
    pub fn start(workspace: &Workspace, dist: &Path) -> Result<SyncServer, String> {
        SyncServer::start_profile(workspace, dist, None)
    }

    /// As [`SyncServer::start`], with the server built in cargo profile `profile` (the
    /// benchmark's full size measures the `server` profile that ships).
    pub fn start_profile(
        workspace: &Workspace,
        dist: &Path,
        profile: Option<&str>,
    ) -> Result<SyncServer, String> {
        let mut build = Cmd::new("cargo").args(["build", "-p", "fieldbook-server"]);
        if let Some(profile) = profile {
            build = build.args(["--profile", profile]);
        }
        workspace.run(&build)?;
        let binary = workspace
            .cargo_target_dir()
            .join(profile.unwrap_or("debug"))
            .join("fieldbook-server");
        let data_dir = workspace
            .root()
            .join("target")
            .join(format!("e2e-data-{}", std::process::id()));
        if data_dir.exists() {
            std::fs::remove_dir_all(&data_dir)
                .map_err(|e| format!("cannot clear {}: {e}", data_dir.display()))?;
        }
        let data = data_dir.to_string_lossy().into_owned();

        let team =
            output(Command::new(&binary).args(["team", "add", POOL_TEAM, "--data-dir", &data]))?;
        if !team.contains(POOL_TEAM) {
            return Err(format!("team add printed: {team}"));
        }
        let team = output(Command::new(&binary).args([
            "team",
            "add",
            ACCOUNTS_TEAM,
            "--data-dir",
            &data,
        ]))?;
        if !team.contains(ACCOUNTS_TEAM) {
            return Err(format!("team add printed: {team}"));
        }
        let add_user = |login: &str, name: &str, role: &str, team: &str| {
            let printed = output(Command::new(&binary).args([
                "user",
                "add",
                login,
                "--name",
                name,
                "--role",
                role,
                "--team",
                team,
                "--data-dir",
                &data,
            ]))?;
            let password = printed
                .lines()
                .find_map(|line| line.split_once(&format!("One-time password for {login}: ")))
                .map(|(_, password)| password.trim().to_string())
                .ok_or_else(|| format!("no password in: {printed}"))?;
            Ok::<Login, String>(Login {
                login: login.to_string(),
                password,
                role: role.to_string(),
            })
        };
        let mut pool = Vec::with_capacity(POOL);
        for n in 1..=POOL {
            pool.push(add_user(
                &format!("e2e-{n:02}"),
                &format!("E2E rep {n}"),
                "rep",
                POOL_TEAM,
            )?);
        }
        let mut accounts = Vec::with_capacity(ACCOUNTS.len());
        for (login, name, role) in ACCOUNTS {
            accounts.push(add_user(login, name, role, ACCOUNTS_TEAM)?);
        }

        let port = free_port()?;
        let mut child = Command::new(&binary)
            .args([
                "serve",
                "--demo",
                "--port",
                &port.to_string(),
                "--data-dir",
                &data,
            ])
            .arg("--dist")
            .arg(dist)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let mut demo = match read_demo_logins(&mut child) {
            Ok(demo) => demo,
            Err(err) => {
                let _ = child.kill();
                return Err(err);
            }
        };
        let mut server = SyncServer {
            child,
            port,
            logins_json: String::new(),
            logins: Vec::new(),
            data_dir,
            binary,
        };
        server.wait_healthy()?;
        // Every account starts with a one-time password that opens nothing but the password
        // change: each chooses its own, the way a person does on the first sign-in.
        demo.extend(accounts);
        for login in demo.iter_mut().chain(pool.iter_mut()) {
            choose_password(port, login)?;
        }
        server.logins_json = logins_json(&demo, &pool);
        server.logins = demo.into_iter().chain(pool).collect();
        Ok(server)
    }

    /// Signs `login` in and returns the session token its cookie carries.
    pub fn session_token(&self, login: &str) -> Result<String, String> {
        let account = self
            .logins
            .iter()
            .find(|account| account.login == login)
            .ok_or_else(|| format!("no login {login} on the test server"))?;
        let body = format!(
            r#"{{"login":"{}","password":"{}"}}"#,
            escape(&account.login),
            escape(&account.password)
        );
        let answer = post_json(self.port, "/api/login", &body, None)?;
        session_cookie(&answer)
            .and_then(|cookie| cookie.split_once('=').map(|(_, token)| token.to_string()))
            .ok_or_else(|| format!("signing in as {login} set no cookie"))
    }

    /// The server's process id (the benchmark reads its RSS).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server binary, for tests that start and stop servers of their own.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Writes the logins into the data folder and returns the file.
    pub fn logins_file(&self) -> Result<PathBuf, String> {
        let path = self.data_dir.join("e2e-logins.json");
        std::fs::write(&path, &self.logins_json)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(path)
    }

    fn wait_healthy(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                let request = "GET /api/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
                let mut answer = String::new();
                if stream.write_all(request.as_bytes()).is_ok()
                    && stream.read_to_string(&mut answer).is_ok()
                    && answer.starts_with("HTTP/1.0 200")
                {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!(
            "the sync server did not become healthy at {}",
            self.url()
        ))
    }
}

impl Drop for SyncServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Signs `login` in with its one-time password and chooses a new password through the
/// API; `login` then carries the new one.
fn choose_password(port: u16, login: &mut Login) -> Result<(), String> {
    let body = format!(
        r#"{{"login":"{}","password":"{}"}}"#,
        escape(&login.login),
        escape(&login.password)
    );
    let answer = post_json(port, "/api/login", &body, None)?;
    let cookie = session_cookie(&answer)
        .ok_or_else(|| format!("signing in as {} set no cookie: {answer}", login.login))?;
    let chosen = format!("{} chosen", login.password);
    let body = format!(
        r#"{{"current_password":"{}","new_password":"{}"}}"#,
        escape(&login.password),
        escape(&chosen)
    );
    post_json(port, "/api/password", &body, Some(&cookie))?;
    login.password = chosen;
    Ok(())
}

/// `name=value` of the cookie an HTTP answer sets.
fn session_cookie(answer: &str) -> Option<String> {
    answer
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("set-cookie")
                .then(|| value.trim().split(';').next())
                .flatten()
        })
        .map(str::to_string)
}

/// POSTs JSON over HTTP/1.0 (one request per connection) and returns the whole answer, or
/// an error unless its status is 200.
fn post_json(port: u16, path: &str, body: &str, cookie: Option<&str>) -> Result<String, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .map_err(|e| format!("cannot reach the sync server: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let cookie = cookie.map_or(String::new(), |c| format!("Cookie: {c}\r\n"));
    let request = format!(
        "POST {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n{cookie}\r\n{body}",
        body.len()
    );
    let mut answer = String::new();
    stream
        .write_all(request.as_bytes())
        .and_then(|()| stream.read_to_string(&mut answer))
        .map_err(|e| format!("POST {path}: {e}"))?;
    match answer.split(' ').nth(1) {
        Some("200") => Ok(answer),
        _ => Err(format!("POST {path} answered: {answer}")),
    }
}

fn output(command: &mut Command) -> Result<String, String> {
    let out = command
        .output()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Reads `Demo login: …` lines from the server's output until all three came, then keeps
/// draining the pipe in the background so the server never blocks on a full one.
fn read_demo_logins(child: &mut Child) -> Result<Vec<Login>, String> {
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(login) = parse_demo_line(&line) {
                let _ = sender.send(login);
            }
        }
    });
    let mut logins = Vec::new();
    while logins.len() < 3 {
        match receiver.recv_timeout(Duration::from_secs(60)) {
            Ok(login) => logins.push(login),
            Err(_) => return Err("the server printed no demo logins".into()),
        }
    }
    Ok(logins)
}

fn parse_demo_line(line: &str) -> Option<Login> {
    let rest = line.strip_prefix("Demo login: ")?;
    let (login, rest) = rest.split_once(" password: ")?;
    let (password, rest) = rest.split_once(" role: ")?;
    let role = rest.split(' ').next()?;
    Some(Login {
        login: login.into(),
        password: password.into(),
        role: role.into(),
    })
}

fn logins_json(demo: &[Login], pool: &[Login]) -> String {
    let list = |logins: &[Login]| {
        logins
            .iter()
            .map(|l| {
                format!(
                    r#"{{"login":"{}","password":"{}","role":"{}"}}"#,
                    escape(&l.login),
                    escape(&l.password),
                    escape(&l.role)
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    format!(r#"{{"demo":[{}],"pool":[{}]}}"#, list(demo), list(pool))
}

fn escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '"' => vec!['\\', '"'],
            '\\' => vec!['\\', '\\'],
            c if (c as u32) < 0x20 => vec![' '],
            c => vec![c],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_demo_lines_the_server_prints() {
        let login = parse_demo_line(
            "Demo login: demo.rep1 password: abcd-efgh-ijkl role: rep name: 李明 Li Ming",
        );
        assert_eq!(
            login,
            Some(Login {
                login: "demo.rep1".into(),
                password: "abcd-efgh-ijkl".into(),
                role: "rep".into()
            })
        );
        assert_eq!(parse_demo_line("listening on http://127.0.0.1:1"), None);
    }

    #[test]
    fn logins_become_json() {
        let one = Login {
            login: "a\"b".into(),
            password: "p".into(),
            role: "rep".into(),
        };
        assert_eq!(
            logins_json(std::slice::from_ref(&one), std::slice::from_ref(&one)),
            r#"{"demo":[{"login":"a\"b","password":"p","role":"rep"}],"pool":[{"login":"a\"b","password":"p","role":"rep"}]}"#
        );
    }
}
