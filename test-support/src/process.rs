//! Children that cannot outlive their test: [`KillOnDrop`] kills and reaps its process when
//! dropped, so a failing (panicking) test leaves nothing running.

use std::ops::{Deref, DerefMut};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// How long a process group gets after SIGTERM before SIGKILL.
const GROUP_GRACE: Duration = Duration::from_secs(3);

/// A child process, killed and reaped on drop.
///
/// Made with [`KillOnDrop::new`] it gets SIGKILL. Made with [`KillOnDrop::spawn_group`] it leads
/// a process group of its own, which gets SIGTERM, then SIGKILL after a grace period: for
/// servers that fork workers (nsd's server and xfrd processes) or need to clean up.
#[derive(Debug)]
pub struct KillOnDrop {
    child: Child,
    group: bool,
}

impl KillOnDrop {
    /// Takes charge of `child`.
    pub fn new(child: Child) -> KillOnDrop {
        KillOnDrop {
            child,
            group: false,
        }
    }

    /// Spawns `cmd` as the leader of a new process group, stopped as a group on drop.
    pub fn spawn_group(cmd: &mut Command) -> std::io::Result<KillOnDrop> {
        use std::os::unix::process::CommandExt;
        let child = cmd.process_group(0).spawn()?;
        Ok(KillOnDrop { child, group: true })
    }

    /// Its exit status, if it has exited (reaping it).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    fn stop_group(&mut self) {
        // Already exited and reaped (say, a failed start): its group id may be someone else's
        // by now.
        if self.exited().is_some() {
            return;
        }
        let pgid = self.child.id() as i32;
        // SAFETY: signals the process group made for this child; a failure only means it is
        // already gone.
        unsafe {
            libc::kill(-pgid, libc::SIGTERM);
        }
        let deadline = Instant::now() + GROUP_GRACE;
        while Instant::now() < deadline && self.exited().is_none() {
            std::thread::sleep(Duration::from_millis(20));
        }
        // Members that outlive the leader (forked workers) get the same end.
        // SAFETY: as above.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

impl Deref for KillOnDrop {
    type Target = Child;

    fn deref(&self) -> &Child {
        &self.child
    }
}

impl DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if self.group {
            self.stop_group();
        } else {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The path of a program the tests need, searched on `PATH` and in the sbin directories (which
/// a non-login root shell may lack). A missing one fails the test, naming the Debian `package`
/// that provides it and the script that installs every peer: tests never skip.
pub fn require(cmd: &str, package: &str) -> std::path::PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    let dirs = path.split(':').chain([
        "/usr/local/sbin",
        "/usr/sbin",
        "/sbin",
        "/usr/local/bin",
        "/usr/bin",
        "/bin",
    ]);
    for dir in dirs {
        let candidate = std::path::Path::new(dir).join(cmd);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!("`{cmd}` is not installed: {}", install_hint(package));
}

/// What to do when the Debian `package` is missing.
pub fn install_hint(package: &str) -> String {
    format!(
        "install the Debian package {package} (`apt-get install -y {package}`), or run \
         scripts/test-peers.sh (as root) to install every test peer"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_is_stopped_on_drop() {
        let mut cmd = Command::new("sleep");
        cmd.arg("600");
        let guard = KillOnDrop::spawn_group(&mut cmd).expect("sleep");
        let pid = guard.id() as i32;
        drop(guard);
        // SAFETY: signal 0 only checks whether the process exists.
        assert_ne!(unsafe { libc::kill(pid, 0) }, 0, "{pid} still runs");
    }

    #[test]
    #[should_panic(expected = "apt-get install -y no-such-package")]
    fn a_missing_program_names_its_package() {
        require("netpulse-no-such-program", "no-such-package");
    }
}
