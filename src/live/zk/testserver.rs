//! A real ZooKeeper server for tests: a standalone `ZooKeeperServerMain` JVM on a free
//! loopback port with a data directory of its own, killed and removed when dropped.
//!
//! It runs the jars Debian's `zookeeper` package installs: `/usr/share/java/zookeeper.jar`
//! names the others in its manifest's class path, so it is the whole class path
//! (`MESOSIM_ZK_CLASSPATH` overrides it; `JAVA` names the java binary, else `java` on the
//! `PATH`). Without them [`ZkTestServer::start`] fails, and tests skip.
//!
//! The server ticks every 250 ms, so it grants session timeouts from 500 ms
//! (2 ticks) to 30 s: tests can use short sessions and still watch them expire.

use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::client::ZkClient;
use super::url::ZkUrl;

/// The class path used when `MESOSIM_ZK_CLASSPATH` is not set.
pub const DEBIAN_CLASSPATH: &str = "/usr/share/java/zookeeper.jar";
/// SLF4J's simple logger (Debian's libslf4j-java), added to the class path if present.
const SIMPLE_LOGGER: &str = "/usr/share/java/slf4j-simple.jar";
/// How long a server may take to answer its first client.
const READY_WITHIN: Duration = Duration::from_secs(30);
const TICK_MS: u32 = 250;

/// A running ZooKeeper server. Dropping it kills the server and deletes its data.
pub struct ZkTestServer {
    child: Option<Child>,
    dir: PathBuf,
    addr: SocketAddr,
}

impl ZkTestServer {
    /// Starts a server and waits until a client can open a session with it. `Err` says
    /// why not (no java, no jars, no answer in time, with the server's output).
    pub fn start() -> Result<ZkTestServer, String> {
        let java = find_java().ok_or("no java binary (set JAVA or put java on the PATH)")?;
        let classpath = std::env::var("MESOSIM_ZK_CLASSPATH").unwrap_or_else(|_| DEBIAN_CLASSPATH.into());
        if !classpath.split(':').any(|p| Path::new(p).exists()) {
            return Err(format!(
                "no ZooKeeper jars at {classpath} (install Debian's zookeeper package)"
            ));
        }
        // With a logger on the class path the server's log says what went wrong.
        let classpath = match Path::new(SIMPLE_LOGGER).exists() {
            true => format!("{classpath}:{SIMPLE_LOGGER}"),
            false => classpath,
        };
        // The free port found may be taken before the server binds it: try another.
        let mut failures = Vec::new();
        for _ in 0..3 {
            match ZkTestServer::start_once(&java, &classpath) {
                Ok(server) => return Ok(server),
                Err(why) => failures.push(why),
            }
        }
        Err(failures.join("\n"))
    }

    fn start_once(java: &Path, classpath: &str) -> Result<ZkTestServer, String> {
        let dir = scratch_dir().map_err(|e| format!("cannot make a data directory: {e}"))?;
        let mut server = ZkTestServer {
            child: None,
            dir,
            addr: free_port().map_err(|e| format!("no free port: {e}"))?,
        };
        server.spawn(java, classpath)?;
        server.wait_ready()?;
        Ok(server)
    }

    fn spawn(&mut self, java: &Path, classpath: &str) -> Result<(), String> {
        let config = self.dir.join("zoo.cfg");
        let text = format!(
            "tickTime={TICK_MS}\ndataDir={}\nclientPort={}\nclientPortAddress=127.0.0.1\n\
             minSessionTimeout={}\nmaxSessionTimeout=30000\nadmin.enableServer=false\n",
            self.dir.join("data").display(),
            self.addr.port(),
            2 * TICK_MS,
        );
        fs::write(&config, text).map_err(|e| format!("cannot write {}: {e}", config.display()))?;
        let log = fs::File::create(self.dir.join("server.log")).map_err(|e| e.to_string())?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(java)
            // A small, quick-starting JVM: the tests need little of it.
            .args([
                "-Xms16m",
                "-Xmx128m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
            ])
            .arg("-Dzookeeper.admin.enableServer=false")
            .arg("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn")
            .arg("-cp")
            .arg(classpath)
            .arg("org.apache.zookeeper.server.ZooKeeperServerMain")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", java.display()))?;
        self.child = Some(child);
        Ok(())
    }

    /// Polls with a real client until a session opens, the server exits, or time is up.
    fn wait_ready(&mut self) -> Result<(), String> {
        let start = Instant::now();
        let url = self.url("");
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!("ZooKeeper exited ({status}):\n{}", self.log()));
            }
            if let Ok(client) = ZkClient::connect(&url, Duration::from_secs(2)) {
                client.close();
                return Ok(());
            }
            if start.elapsed() > READY_WITHIN {
                return Err(format!(
                    "ZooKeeper did not answer within {READY_WITHIN:?}:\n{}",
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Where clients reach it.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A URL of this server with `chroot` (`""` for none, else like `/mesosim`).
    pub fn url(&self, chroot: &str) -> ZkUrl {
        ZkUrl::parse(&format!("zk://{}{chroot}", self.addr))
            .expect("a loopback address and a test's chroot parse")
    }

    /// What the server printed so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// Kills the server at once (SIGKILL), as a crash would; its data stays until drop.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ZkTestServer {
    fn drop(&mut self) {
        self.kill();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn find_java() -> Option<PathBuf> {
    if let Some(java) = std::env::var_os("JAVA") {
        return Some(PathBuf::from(java));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("java"))
        .find(|candidate| candidate.is_file())
}

/// A fresh directory under the system's temporary one, unique to this test process.
fn scratch_dir() -> std::io::Result<PathBuf> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("mesosim-zk-{}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("data"))?;
    Ok(dir)
}

/// A loopback port free right now (the server binds it a moment later).
fn free_port() -> std::io::Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")?.local_addr()
}
