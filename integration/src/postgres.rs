//! A throwaway PostgreSQL cluster per test process, so `cargo test` runs
//! the hub against Postgres with no setup step and no shared server.
//!
//! The first call to [`fresh_database_url`] runs Debian's `initdb` and
//! `pg_ctl start` in a temp dir (data, Unix socket and log), listening on a
//! free port of 127.0.0.1 with `trust` authentication for the user
//! `flotilla`, and durability switched off (tests never survive a crash).
//! Every call creates a new database, so tests never see each other's rows.
//! initdb refuses to run as root: under root the cluster belongs to the
//! `postgres` user (`runuser`), which the Debian package creates.
//!
//! The cluster stops when the test process ends, however it ends: a
//! watchdog shell waits for EOF on a pipe only this process holds (the
//! kernel closes it at exit, even on SIGKILL), then stops the server and
//! removes the temp dir.
//!
//! Without the server binaries the first caller panics with what to
//! install; Postgres tests never skip silently. `FLOTILLA_PG_BIN` names
//! another directory holding `initdb`, `pg_ctl` and `createdb`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use std::os::unix::process::CommandExt as _;

/// The role every test database belongs to.
const USER: &str = "flotilla";

/// The user that owns the cluster when the tests run as root.
const OWNER_WHEN_ROOT: &str = "postgres";

/// A running cluster.
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    databases: AtomicU64,
    /// Never waited for: it outlives this process. Its stdin is held open
    /// for the life of the process, and its EOF stops the cluster.
    _watchdog: Child,
}

/// The cluster of this test process, started on first use.
///
/// # Panics
/// When PostgreSQL is not installed or the cluster does not start; the
/// message says what to install or shows the server's log.
pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(Cluster::start)
}

/// The URL of a new, empty database on this process's cluster.
pub fn fresh_database_url() -> String {
    cluster().create_database()
}

impl Cluster {
    /// Runs initdb and starts the server (about 2 s).
    fn start() -> Cluster {
        let bin = server_bin_dir();
        let as_root = nix::unistd::geteuid().is_root();
        let dir = std::env::temp_dir().join(format!(
            "flotilla-pg-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir(&dir)
            .unwrap_or_else(|error| panic!("creating {}: {error}", dir.display()));
        if as_root {
            let owner = nix::unistd::User::from_name(OWNER_WHEN_ROOT)
                .ok()
                .flatten()
                .unwrap_or_else(|| {
                    panic!(
                        "the tests run as root and initdb refuses root, but there is no \
                         {OWNER_WHEN_ROOT:?} user to own the test cluster (Debian's \
                         `postgresql` package creates it)"
                    )
                });
            std::os::unix::fs::chown(&dir, Some(owner.uid.as_raw()), Some(owner.gid.as_raw()))
                .unwrap_or_else(|error| panic!("handing {} to postgres: {error}", dir.display()));
        }
        let data = dir.join("data");
        let pg = |tool: &str| {
            let mut command = if as_root {
                let mut command = Command::new("runuser");
                command
                    .args(["-u", OWNER_WHEN_ROOT, "--"])
                    .arg(bin.join(tool));
                command
            } else {
                Command::new(bin.join(tool))
            };
            // The server must not inherit a caller's libpq settings, and
            // the owner may not be allowed into the caller's directory.
            command
                .env_remove("PGDATA")
                .env_remove("PGPORT")
                .current_dir(&dir);
            command
        };
        // A linguistic (ICU) collation like many production clusters have,
        // so code that relies on SQLite's bytewise order fails here too;
        // servers before 15 lack the option and get the C locale.
        let initdb = |locale: &[&str]| {
            pg("initdb")
                .arg("-D")
                .arg(&data)
                .args(["-A", "trust", "-U", USER, "-E", "UTF8", "-N"])
                .args(locale)
                .output()
                .unwrap_or_else(|error| panic!("running initdb: {error}"))
        };
        let mut initialised = initdb(&[
            "--locale=C.UTF-8",
            "--locale-provider=icu",
            "--icu-locale=en-US",
        ]);
        if !initialised.status.success() && !data.join("PG_VERSION").exists() {
            initialised = initdb(&["--locale=C"]);
        }
        check("initdb", &initialised, &dir);

        // Stop (and clean up) whatever happens to this process from here on.
        let mut stop = pg("pg_ctl");
        stop.arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "-w", "stop"]);
        let mut watchdog = Command::new("sh");
        watchdog
            .arg("-c")
            .arg(
                // Ignore the terminal's ^C so the cleanup still runs after it.
                "trap '' INT TERM HUP; cat >/dev/null; \"$@\" >/dev/null 2>&1; rm -rf \"$DIR\"",
            )
            .arg("flotilla-pg-watchdog")
            .arg(stop.get_program())
            .args(stop.get_args())
            .env("DIR", &dir)
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let watchdog = watchdog
            .spawn()
            .unwrap_or_else(|error| panic!("starting the cluster's watchdog: {error}"));

        // A free port can be taken between the probe and the server's bind:
        // try a few.
        let log = dir.join("log");
        let mut last = None;
        let port = (0..5).find_map(|_| {
            let port = free_port();
            let started = pg("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "60", "-o"])
                .arg(format!(
                    "-k {} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off \
                     -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
                    dir.display()
                ))
                .arg("start")
                .output()
                .unwrap_or_else(|error| panic!("running pg_ctl start: {error}"));
            if started.status.success() {
                Some(port)
            } else {
                last = Some(started);
                None
            }
        });
        let Some(port) = port else {
            check("pg_ctl start", &last.expect("five attempts"), &dir);
            unreachable!("check panics on failure")
        };
        Cluster {
            bin,
            dir,
            port,
            databases: AtomicU64::new(0),
            _watchdog: watchdog,
        }
    }

    /// The port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates a database and returns its URL.
    pub fn create_database(&self) -> String {
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        let name = format!("test_{n}");
        let created = Command::new(self.bin.join("createdb"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
            .arg(&name)
            .env_remove("PGPASSWORD")
            .env_remove("PGSERVICE")
            .output()
            .unwrap_or_else(|error| panic!("running createdb: {error}"));
        check("createdb", &created, &self.dir);
        format!("postgres://{USER}@127.0.0.1:{}/{name}", self.port)
    }
}

/// Where `initdb` and `pg_ctl` are: `FLOTILLA_PG_BIN`, the newest Debian
/// `/usr/lib/postgresql/*/bin`, or `PATH`.
fn server_bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FLOTILLA_PG_BIN") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.join("initdb").exists(),
            "FLOTILLA_PG_BIN={} has no initdb",
            dir.display()
        );
        return dir;
    }
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version);
    if let Some((_, bin)) = debian {
        return bin;
    }
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists());
    on_path.unwrap_or_else(|| {
        panic!(
            "these tests run the hub against PostgreSQL, and no PostgreSQL server was found \
             (initdb and pg_ctl in /usr/lib/postgresql/*/bin or on PATH): install it \
             (Debian: `apt-get install postgresql`, as .ci/run does) or set FLOTILLA_PG_BIN \
             to the directory holding initdb, pg_ctl and createdb"
        )
    })
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("binding 127.0.0.1:0")
}

/// Panics with the command's output and the server log when it failed.
fn check(what: &str, output: &Output, dir: &Path) {
    if output.status.success() {
        return;
    }
    let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
    panic!(
        "{what} failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}\n--- server log ---\n{log}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
}
