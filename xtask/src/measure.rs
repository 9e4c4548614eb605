//! Measuring processes: one child run to its end as `/usr/bin/time -v`
//! would measure it, any process's figures from /proc, and the percentiles
//! of repeated measurements.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;

pub const MB: f64 = 1024.0 * 1024.0;

/// How often a running child's peak memory is read.
const SAMPLE_EVERY: Duration = Duration::from_millis(50);

/// What one finished child process took.
pub struct Measured {
    pub status: ExitStatus,
    pub wall: Duration,
    /// The highest VmHWM read while it ran.
    pub peak_rss_bytes: u64,
    /// User and system time.
    pub cpu: Duration,
}

/// Runs `command` to its end; blocks (call it from a blocking task).
///
/// The peak memory is read from /proc while the child runs, not taken from
/// `wait4`: Linux carries the parent's own peak into a child's `ru_maxrss`
/// across the exec (the child starts as a copy of the parent), so a large
/// parent would read as the child's peak.
pub fn run_measured(command: &mut Command) -> anyhow::Result<Measured> {
    let started = Instant::now();
    let child = command
        .spawn()
        .with_context(|| format!("starting {:?}", command.get_program()))?;
    let pid = child.id() as libc::pid_t;
    let ended = AtomicBool::new(false);
    let peak_kb = std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            let mut peak = 0;
            while !ended.load(Ordering::Relaxed) {
                peak = status_kb(pid, "VmHWM:").map_or(peak, |kb| kb.max(peak));
                std::thread::sleep(SAMPLE_EVERY);
            }
            peak
        });
        // Waits for the exit but leaves the child unreaped, so its pid is
        // not reused while the sampler may still read it.
        let exited = retry_interrupted(|| {
            // SAFETY: a zeroed siginfo_t is a valid out-parameter.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: `pid` is our own child; `info` is a live local.
            unsafe {
                libc::waitid(
                    libc::P_PID,
                    pid as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOWAIT,
                )
            }
        });
        ended.store(true, Ordering::Relaxed);
        let peak = sampler.join().expect("the sampler does not panic");
        exited.map(|_| peak)
    })
    .context("waiting for the benchmarked process")?;

    let mut status = 0;
    // SAFETY: rusage is plain data; zero is a valid value of every field.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own exited, unreaped child (std's Child never
    // waits unless asked); both pointers are to live locals.
    retry_interrupted(|| unsafe { libc::wait4(pid, &mut status, 0, &mut usage) })
        .context("reaping the benchmarked process")?;
    let wall = started.elapsed();
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Ok(Measured {
        status: ExitStatus::from_raw(status),
        wall,
        peak_rss_bytes: peak_kb * 1024,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
    })
}

/// Calls `syscall` until it is not interrupted by a signal.
fn retry_interrupted(mut syscall: impl FnMut() -> libc::c_int) -> std::io::Result<libc::c_int> {
    loop {
        let result = syscall();
        if result != -1 {
            return Ok(result);
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// A `/proc/PID/status` figure in kB (`VmHWM:`, `RssAnon:`); `None` once
/// the process has ended.
pub fn status_kb(pid: i32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|line| line.strip_prefix(field))?;
    line.trim().trim_end_matches("kB").trim().parse().ok()
}

/// A process's user + system time so far, from `/proc/PID/stat`; `None`
/// once it has ended.
pub fn cpu_time(pid: i32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it start at field 3 (state).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |field: usize| fields.get(field - 3)?.parse::<u64>().ok();
    let (user, system) = (ticks(14)?, ticks(15)?);
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Some(Duration::from_secs_f64((user + system) as f64 / per_second))
}

/// The sample at `fraction` (0.5: the median) of `samples`, nearest rank.
pub fn percentile(samples: &[Duration], fraction: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_s_peak_memory_is_its_own_not_its_parent_s() {
        // This process holds 200 MB, so a peak inherited from it would show.
        let ballast = std::hint::black_box(vec![1u8; 200 << 20]);
        // A shell that holds ~64 MB (a string of 64 Mi characters) a moment, then exits 3.
        let mut command = Command::new("sh");
        command.args([
            "-c",
            "x=$(head -c 67108864 /dev/zero | tr '\\0' a); sleep 0.3; exit 3",
        ]);
        let measured = run_measured(&mut command).unwrap();
        assert_eq!(measured.status.code(), Some(3));
        let peak = measured.peak_rss_bytes;
        assert!(peak > 64 << 20 && peak < 190 << 20, "{peak}");

        let mut command = Command::new("sleep");
        command.arg("0.2");
        let small = run_measured(&mut command).unwrap();
        assert!(small.status.success());
        assert!(
            small.peak_rss_bytes > 0 && small.peak_rss_bytes < 32 << 20,
            "{}",
            small.peak_rss_bytes
        );
        drop(ballast);
    }

    #[test]
    fn a_live_process_s_figures_are_read_and_an_ended_one_has_none() {
        let started = Instant::now();
        let mut spin = 0u64;
        while started.elapsed() < Duration::from_millis(300) {
            spin = std::hint::black_box(spin.wrapping_add(1));
        }
        let me = std::process::id() as i32;
        assert!(status_kb(me, "VmHWM:").is_some_and(|kb| kb > 1024));
        assert!(
            cpu_time(me).is_some_and(|cpu| cpu >= Duration::from_millis(100)),
            "{:?}",
            cpu_time(me)
        );
        // Beyond pid_max: no such process.
        assert_eq!(
            (status_kb(i32::MAX, "VmHWM:"), cpu_time(i32::MAX)),
            (None, None)
        );
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<Duration> = [5, 1, 4, 2, 3].map(Duration::from_millis).into();
        assert_eq!(percentile(&samples, 0.5), Duration::from_millis(3));
        assert_eq!(percentile(&samples, 0.9), Duration::from_millis(5));
        assert_eq!(percentile(&samples, 0.0), Duration::from_millis(1));
    }
}
