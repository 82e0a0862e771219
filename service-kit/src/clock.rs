//! The wall clock as the databases and wire formats of the workspace store it: Unix seconds or
//! nanoseconds.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch (0 for a clock set before 1970).
pub fn now_unix() -> u64 {
    unix_secs(SystemTime::now())
}

/// Nanoseconds since the Unix epoch (0 for a clock set before 1970), as lnd and Loop store times.
pub fn now_unix_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `time` as seconds since the Unix epoch (0 before 1970).
pub fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
