//! Finding and signalling the `netpulse` processes of the run.
//!
//! `Proc` keeps its `Child` private, and an edge node started through `ip netns exec` is a
//! different program at spawn time, so processes are found the way an operator would: the
//! `netpulse` binary whose command line names the data directory (unique per process).

use std::path::Path;

/// Pid of the running `netpulse` process with `--data-dir <dir>`, if any.
pub fn pid_of(dir: &Path) -> Option<i32> {
    let bin = std::fs::canonicalize(super::super::bin()).expect("binary path");
    let want = dir.as_os_str().as_encoded_bytes();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        // Exited or exiting processes have no exe link; skip them.
        let Ok(exe) = std::fs::read_link(entry.path().join("exe")) else {
            continue;
        };
        // A rebuild replaces the binary under a running process: its link then ends in
        // " (deleted)", and it is still ours.
        let exe = exe.to_string_lossy().into_owned();
        if exe.strip_suffix(" (deleted)").unwrap_or(&exe) != bin.to_string_lossy() {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        if args
            .windows(2)
            .any(|w| w[0] == b"--data-dir" && w[1] == want)
        {
            return Some(pid);
        }
    }
    None
}

/// The process state letter from `/proc/<pid>/stat` (`T` = stopped), if it runs.
pub fn state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name in parentheses may contain spaces; the state follows the last ')'.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// Sends `sig` (`"STOP"`, `"CONT"`, `"KILL"`, `"TERM"`) to `pid`.
pub fn signal(pid: i32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("kill(1)")
        .success();
    assert!(ok, "kill -{sig} {pid} failed");
}

/// SIGSTOP the process of `dir` and wait until the kernel reports it stopped; returns its pid.
pub fn stop(dir: &Path) -> i32 {
    let pid = pid_of(dir).unwrap_or_else(|| panic!("no process for {}", dir.display()));
    signal(pid, "STOP");
    for _ in 0..200 {
        if state(pid) == Some('T') {
            return pid;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("{pid} did not stop");
}
