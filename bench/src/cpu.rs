//! CPU time a process tree has used, from `/proc/<pid>/stat` (user + system, all threads) summed over the
//! process and its children — nginx's workers are children of its master. Sampled around a run, it gives
//! the CPU each request cost the proxy, a figure that does not depend on how the cores were shared.

use std::time::Duration;

/// User + system CPU time of `pid` and its child processes.
pub fn tree_time(pid: u32) -> Duration {
    let ticks: u64 = std::iter::once(pid)
        .chain(children(pid))
        .filter_map(process_ticks)
        .sum();
    Duration::from_secs_f64(ticks as f64 / CLOCK_TICKS_PER_SECOND)
}

/// `USER_HZ`, which Linux fixes at 100 for `/proc`.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

fn process_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15, i.e. the 12th and 13th after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|pid| pid.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_cpu_this_process_burns() {
        let pid = std::process::id();
        let before = tree_time(pid);
        let spin_until = std::time::Instant::now() + Duration::from_millis(200);
        let mut x = 0u64;
        while std::time::Instant::now() < spin_until {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let used = tree_time(pid) - before;
        assert!(used >= Duration::from_millis(100), "{used:?}");
    }

    #[test]
    fn reads_the_fields_after_a_name_with_spaces() {
        // This process's own stat line parses; a missing process is None, not a panic.
        assert!(process_ticks(std::process::id()).is_some());
        assert_eq!(process_ticks(u32::MAX), None);
    }
}
