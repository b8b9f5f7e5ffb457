//! The process's own resources for `/metrics`, read from `/proc/self` under the names
//! Prometheus client libraries use (`process_resident_memory_bytes`, `process_cpu_seconds_total`,
//! `process_open_fds`, ...), so the usual process dashboards work on coordinators and edge
//! nodes alike.
//!
//! The parsers are pure and tested on captured text; [`read`] does the reading. Anything that
//! cannot be read (not Linux, a restricted `/proc`) is left out of the scrape rather than shown
//! as zero.

use crate::{Type, Writer};

/// The process's own resources, from `/proc/self` (absent where unreadable).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessSample {
    /// Resident set size, bytes.
    pub resident_memory_bytes: Option<u64>,
    /// Virtual memory size, bytes.
    pub virtual_memory_bytes: Option<u64>,
    /// User plus system CPU time, seconds.
    pub cpu_seconds: Option<f64>,
    /// Open file descriptors.
    pub open_fds: Option<u64>,
    /// The soft limit on open file descriptors.
    pub max_fds: Option<u64>,
    /// When the process started, Unix seconds.
    pub start_time_seconds: Option<f64>,
    /// Threads.
    pub threads: Option<u64>,
}

impl ProcessSample {
    /// `process_*` under the names Prometheus client libraries use; unreadable values are
    /// left out.
    pub fn write(&self, w: &mut Writer) {
        let f = |v: Option<u64>| v.map(|v| v as f64);
        let g = Type::Gauge;
        w.optional(
            "process_resident_memory_bytes",
            g,
            "Resident memory size in bytes.",
            f(self.resident_memory_bytes),
        );
        w.optional(
            "process_virtual_memory_bytes",
            g,
            "Virtual memory size in bytes.",
            f(self.virtual_memory_bytes),
        );
        w.optional(
            "process_cpu_seconds_total",
            Type::Counter,
            "Total user and system CPU time spent in seconds.",
            self.cpu_seconds,
        );
        w.optional(
            "process_open_fds",
            g,
            "Number of open file descriptors.",
            f(self.open_fds),
        );
        w.optional(
            "process_max_fds",
            g,
            "Maximum number of open file descriptors.",
            f(self.max_fds),
        );
        w.optional(
            "process_start_time_seconds",
            g,
            "Start time of the process since unix epoch in seconds.",
            self.start_time_seconds,
        );
        w.optional(
            "process_threads",
            g,
            "Number of OS threads in the process.",
            f(self.threads),
        );
    }
}

/// What `/proc/self/stat` says, in its own units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// User CPU time, clock ticks.
    pub utime_ticks: u64,
    /// System CPU time, clock ticks.
    pub stime_ticks: u64,
    /// Threads.
    pub threads: u64,
    /// Start time after boot, clock ticks.
    pub start_ticks: u64,
    /// Virtual memory size, bytes.
    pub vsize_bytes: u64,
}

/// Clock ticks per second in `/proc` times (`USER_HZ`): fixed at 100 in the kernel's user ABI
/// on every architecture Linux runs on, whatever the kernel's own tick rate (the Prometheus
/// `procfs` library assumes the same), so no `sysconf` call is needed.
pub const USER_HZ: f64 = 100.0;

/// Parses `/proc/self/stat`. The command name (field 2) is in parentheses and may hold spaces
/// and parentheses itself, so fields are counted after the last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let (_, rest) = text.rsplit_once(')')?;
    // `rest` starts at field 3 (state); field n is at index n - 3.
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| f.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    Some(Stat {
        utime_ticks: field(14)?,
        stime_ticks: field(15)?,
        threads: field(20)?,
        start_ticks: field(22)?,
        vsize_bytes: field(23)?,
    })
}

/// The resident set size (`VmRSS`, in kB) from `/proc/self/status`, in bytes. Read there, not
/// from `stat`'s page count, so the page size does not matter.
pub fn parse_rss_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let mut parts = line.split_whitespace();
    let kb: u64 = parts.next()?.parse().ok()?;
    (parts.next() == Some("kB")).then(|| kb.saturating_mul(1024))
}

/// The boot time (`btime`, Unix seconds) from `/proc/stat`.
pub fn parse_boot_time(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// The soft limit of "Max open files" from `/proc/self/limits` (`None` when unlimited).
pub fn parse_max_fds(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Reads this process's resources. Blocking (a few small `/proc` reads and a directory
/// listing): call it off the async workers.
pub fn read() -> ProcessSample {
    let mut p = ProcessSample::default();
    if let Some(stat) = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .as_deref()
        .and_then(parse_stat)
    {
        p.cpu_seconds = Some((stat.utime_ticks + stat.stime_ticks) as f64 / USER_HZ);
        p.start_time_seconds = std::fs::read_to_string("/proc/stat")
            .ok()
            .as_deref()
            .and_then(parse_boot_time)
            .map(|boot| boot as f64 + stat.start_ticks as f64 / USER_HZ);
        p.virtual_memory_bytes = Some(stat.vsize_bytes);
        p.threads = Some(stat.threads);
    }
    p.resident_memory_bytes = std::fs::read_to_string("/proc/self/status")
        .ok()
        .as_deref()
        .and_then(parse_rss_bytes);
    p.open_fds = std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|d| d.count() as u64);
    p.max_fds = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .as_deref()
        .and_then(parse_max_fds);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real line, with a command name holding a space and a parenthesis.
    const STAT: &str = "4242 (net pulse) x) S 1 4242 4242 0 -1 4194560 2046 0 0 0 \
        150 37 0 0 20 0 9 0 123456 1234567168 2560 18446744073709551615 1 1 0 0 0 0 0 \
        4096 17475 0 0 0 17 1 0 0 0 0 0\n";

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let s = parse_stat(STAT).expect("parses");
        assert_eq!(
            s,
            Stat {
                utime_ticks: 150,
                stime_ticks: 37,
                threads: 9,
                start_ticks: 123_456,
                vsize_bytes: 1_234_567_168,
            }
        );
        assert_eq!(parse_stat("4242 (short"), None);
        assert_eq!(parse_stat(""), None);
    }

    #[test]
    fn rss_is_read_in_kilobytes() {
        let status = "Name:\tnetpulse\nVmSize:\t  1205640 kB\nVmRSS:\t    10240 kB\nThreads:\t9\n";
        assert_eq!(parse_rss_bytes(status), Some(10 << 20));
        assert_eq!(parse_rss_bytes("Name:\tx\n"), None);
    }

    #[test]
    fn boot_time_and_fd_limit() {
        let stat = "cpu  1 2 3 4\nintr 5\nctxt 6\nbtime 1700000000\nprocesses 7\n";
        assert_eq!(parse_boot_time(stat), Some(1_700_000_000));
        assert_eq!(parse_boot_time("cpu 1\n"), None);
        let limits =
            "Limit                     Soft Limit           Hard Limit           Units     \n\
            Max processes             63459                63459                processes \n\
            Max open files            1024                 524288               files     \n";
        assert_eq!(parse_max_fds(limits), Some(1024));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_max_fds(unlimited), None);
    }

    #[test]
    fn this_process_is_readable_on_linux() {
        let p = read();
        if cfg!(target_os = "linux") {
            assert!(p.resident_memory_bytes.is_some_and(|b| b > 0), "{p:?}");
            assert!(p.open_fds.is_some_and(|n| n > 0), "{p:?}");
            assert!(p.cpu_seconds.is_some(), "{p:?}");
            assert!(p.start_time_seconds.is_some_and(|t| t > 1e9), "{p:?}");
        }
    }
}
