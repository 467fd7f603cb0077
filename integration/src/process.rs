//! Child processes of the real binaries, with log capture and cleanup.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The admin password every test hub starts with.
pub const ADMIN_PASSWORD: &str = "integration-admin-pw";

/// Something whose recent log lines can be shown when a test fails.
pub trait LogTail {
    /// The last `n` lines, labelled.
    fn tail(&self, n: usize) -> String;
}

/// Builds the binaries once per test run and returns the directory they are in.
pub fn binaries() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let release = !cfg!(debug_assertions);
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut command = Command::new(cargo);
        command.args([
            "build",
            "--bins",
            "-p",
            "flotilla-hub",
            "-p",
            "flotilla-daemon",
        ]);
        if release {
            command.arg("--release");
        }
        let status = command.status().expect("running cargo build");
        assert!(status.success(), "building the binaries failed");
        let target = std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
        target.join(if release { "release" } else { "debug" })
    })
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// What the test HOME's `~/.bashrc` exports, so a test can tell that a
/// session's shell read the harness's start-up files and not the user's.
pub const TEST_RC_MARKER: (&str, &str) = ("FLOTILLA_TEST_RC", "hermetic");

/// The database a workspace's hub keeps its records in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Database {
    /// SQLite in the hub's data dir (the hub's default).
    Sqlite,
    /// A fresh database on this test process's PostgreSQL cluster
    /// ([`crate::postgres`]).
    Postgres,
}

/// A temp directory with a hub data dir, a projects root holding one git
/// repository (`app`) and a HOME of its own (see [`Workspace::home`]),
/// removed on drop; and the database its hubs use, which outlives hub
/// restarts like the data dir does.
pub struct Workspace {
    dir: tempfile::TempDir,
    database_url: Option<String>,
}

impl Workspace {
    /// Creates the layout, with the hub on SQLite.
    pub fn new() -> Workspace {
        Self::on(Database::Sqlite)
    }

    /// Creates the layout, with the hub on `database`.
    pub fn on(database: Database) -> Workspace {
        let database_url = match database {
            Database::Sqlite => None,
            Database::Postgres => Some(crate::postgres::fresh_database_url()),
        };
        let dir = tempfile::tempdir().expect("creating a temp dir");
        std::fs::create_dir_all(dir.path().join("projects/app/.git")).expect("creating a repo");
        std::fs::create_dir_all(dir.path().join("hub")).expect("creating the data dir");
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).expect("creating the test HOME");
        // A login bash reads ~/.bash_profile first and then no other user
        // file; it sources the rc file so interactive and login shells agree.
        std::fs::write(home.join(".bash_profile"), ". ~/.bashrc\n").expect("writing .bash_profile");
        let (key, value) = TEST_RC_MARKER;
        std::fs::write(
            home.join(".bashrc"),
            format!("PS1='$ '\nexport {key}={value}\n"),
        )
        .expect("writing .bashrc");
        Workspace { dir, database_url }
    }

    /// Which database the hub uses.
    pub fn database(&self) -> Database {
        match self.database_url {
            None => Database::Sqlite,
            Some(_) => Database::Postgres,
        }
    }

    /// A `flotilla-hub` command with this workspace's data dir and
    /// database: `DATABASE_URL` for Postgres, none at all for SQLite (so
    /// the caller's environment never picks the database).
    pub fn hub_command(&self) -> Command {
        let mut command = Command::new(binaries().join("flotilla-hub"));
        command.arg("--data-dir").arg(self.data_dir());
        match &self.database_url {
            Some(url) => command.env("DATABASE_URL", url),
            None => command.env_remove("DATABASE_URL"),
        };
        command
    }

    /// The temp directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The HOME every daemon of this workspace runs with (and so its agents):
    /// its own `.bash_profile` and `.bashrc`, so tests never run the user's
    /// shell start-up files (a slow version-manager init, a prompt that
    /// differs) nor touch the user's agent configuration.
    pub fn home(&self) -> PathBuf {
        self.path().join("home")
    }

    /// The hub's data dir.
    pub fn data_dir(&self) -> PathBuf {
        self.path().join("hub")
    }

    /// The projects root (canonical).
    pub fn projects_root(&self) -> PathBuf {
        self.path()
            .join("projects")
            .canonicalize()
            .expect("canonical projects root")
    }

    /// The one git repository.
    pub fn project(&self) -> PathBuf {
        self.projects_root().join("app")
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

/// A running child process whose stdout and stderr are captured line by line.
pub struct Process {
    name: String,
    child: Option<Child>,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Process {
    fn spawn(name: &str, mut command: Command) -> Process {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("starting {name}: {error}"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        for (stream, label) in [
            (
                child
                    .stdout
                    .take()
                    .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
                "out",
            ),
            (
                child
                    .stderr
                    .take()
                    .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
                "err",
            ),
        ] {
            let Some(stream) = stream else { continue };
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    lines
                        .lock()
                        .expect("log lock")
                        .push(format!("[{label}] {line}"));
                }
            });
        }
        Process {
            name: name.to_owned(),
            child: Some(child),
            lines,
        }
    }

    /// The first stdout line that is a JSON object with `"event": event`.
    pub fn announcement(&self, event: &str) -> Option<serde_json::Value> {
        self.lines
            .lock()
            .expect("log lock")
            .iter()
            .find_map(|line| {
                let json: serde_json::Value =
                    serde_json::from_str(line.strip_prefix("[out] ")?).ok()?;
                (json["event"] == event).then_some(json)
            })
    }

    /// Waits for an announcement, failing with the log tail.
    pub fn wait_announcement(&mut self, event: &str) -> serde_json::Value {
        let deadline = Instant::now() + crate::timeout();
        loop {
            if let Some(json) = self.announcement(event) {
                return json;
            }
            if let Some(status) = self.try_exit() {
                panic!(
                    "{} exited ({status}) before announcing {event}\n{}",
                    self.name,
                    self.tail(60)
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not announce {event}\n{}",
                self.name,
                self.tail(60)
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Whether any captured line contains `needle`.
    pub fn log_contains(&self, needle: &str) -> bool {
        self.lines
            .lock()
            .expect("log lock")
            .iter()
            .any(|l| l.contains(needle))
    }

    /// The exit status if the process has exited.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    /// Waits for the process to exit by itself.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + crate::timeout();
        loop {
            if let Some(status) = self.try_exit() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit\n{}",
                self.name,
                self.tail(60)
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        if let Some(child) = &self.child {
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
        }
        self.wait_exit()
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl LogTail for Process {
    fn tail(&self, n: usize) -> String {
        let lines = self.lines.lock().expect("log lock");
        let start = lines.len().saturating_sub(n);
        let mut out = format!(
            "--- last {} lines of {} ---\n",
            lines.len() - start,
            self.name
        );
        for line in &lines[start..] {
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A running hub.
pub struct HubProcess {
    /// The child.
    pub process: Process,
    /// Where it listens.
    pub addr: String,
}

impl HubProcess {
    /// Starts a hub on `127.0.0.1:0` with the workspace's data dir and database.
    pub fn start(workspace: &Workspace) -> HubProcess {
        Self::start_at(workspace, "127.0.0.1:0")
    }

    /// Starts a hub on a given address (a restart reuses the old port so
    /// daemons find it again).
    pub fn start_at(workspace: &Workspace, listen: &str) -> HubProcess {
        Self::start_with(workspace, listen, &[])
    }

    /// Starts a hub on a given address with extra flags.
    pub fn start_with(workspace: &Workspace, listen: &str, extra_args: &[&str]) -> HubProcess {
        let mut command = workspace.hub_command();
        command
            .args(extra_args)
            .args(["--listen", listen])
            .arg("--static-dir")
            .arg(repo_root().join("frontend/dist"))
            .args(["--spawn-timeout-ms", "10000"])
            .env("FLOTILLA_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("HUB_LOG", "info,flotilla_hub=debug,sqlx=warn,sea_orm=warn");
        let mut process = Process::spawn("hub", command);
        let listening = process.wait_announcement("listening");
        let addr = listening["addr"]
            .as_str()
            .expect("addr in announcement")
            .to_owned();
        HubProcess { process, addr }
    }

    /// `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl LogTail for HubProcess {
    fn tail(&self, n: usize) -> String {
        self.process.tail(n)
    }
}

/// How to start a daemon.
pub struct DaemonOptions<'a> {
    /// The hub URL.
    pub hub_url: &'a str,
    /// The host token (passed through the environment).
    pub token: &'a str,
    /// Extra arguments after `run`.
    pub extra_args: &'a [&'a str],
    /// The profiles directory; the repository's `profiles/` when `None`.
    pub profiles_dir: Option<&'a Path>,
}

/// A running daemon.
pub struct DaemonProcess {
    /// The child.
    pub process: Process,
}

impl DaemonProcess {
    /// Starts a daemon without waiting for it to connect.
    pub fn spawn(workspace: &Workspace, options: DaemonOptions<'_>) -> DaemonProcess {
        Self::spawn_with_env(workspace, options, &[])
    }

    /// Starts a daemon with extra variables in its environment (as if the
    /// shell that started it had them) without waiting for it to connect.
    pub fn spawn_with_env(
        workspace: &Workspace,
        options: DaemonOptions<'_>,
        env: &[(&str, &str)],
    ) -> DaemonProcess {
        let mut command = Command::new(binaries().join("flotilla-daemon"));
        command.envs(env.iter().copied());
        command
            .arg("run")
            .args(["--hub-url", options.hub_url, "--profiles-dir"])
            .arg(
                options
                    .profiles_dir
                    .map_or_else(|| repo_root().join("profiles"), Path::to_path_buf),
            )
            .arg("--projects-root")
            .arg(workspace.projects_root())
            .args(["--stop-grace-ms", "500"])
            .args(options.extra_args)
            .env("FLOTILLA_HOST_TOKEN", options.token)
            .env("RUST_LOG", "info")
            .env("HOME", workspace.home())
            .env("XDG_CONFIG_HOME", workspace.home().join(".config"))
            .env("XDG_DATA_HOME", workspace.home().join(".local/share"))
            .env("XDG_STATE_HOME", workspace.home().join(".local/state"))
            .env("XDG_CACHE_HOME", workspace.home().join(".cache"))
            .env_remove("BASH_ENV")
            .env_remove("ENV")
            .current_dir(workspace.path());
        DaemonProcess {
            process: Process::spawn("daemon", command),
        }
    }

    /// Starts a daemon and waits until the hub acknowledged it.
    pub fn start(workspace: &Workspace, options: DaemonOptions<'_>) -> DaemonProcess {
        let mut daemon = Self::spawn(workspace, options);
        daemon.process.wait_announcement("connected");
        daemon
    }
}

impl LogTail for DaemonProcess {
    fn tail(&self, n: usize) -> String {
        self.process.tail(n)
    }
}
