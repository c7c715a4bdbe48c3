//! Facts about processes from `/proc`: a process is identified by its PID *and* its start
//! time, so a recycled PID is never mistaken for the process the runtime started.

use std::path::Path;

/// Field 22 (`starttime`, clock ticks since boot) of `/proc/<pid>/stat`.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_start_time(&stat)
}

pub(crate) fn parse_start_time(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // Fields 3.. follow the command name; starttime is field 22, the 20th of these.
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the process `pid` started at `start` still exists (a zombie counts: it has not
/// been reaped yet, and its exit is what the caller waits for).
pub fn is_same_process(pid: i32, start: u64) -> bool {
    start_time(pid) == Some(start)
}

/// The primary group of `uid` in `/etc/passwd`-formatted text (0 when the user is unknown, as
/// runc does when the image has no entry).
pub fn primary_gid(passwd: &str, uid: u32) -> u32 {
    passwd
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 4 && f[2].parse::<u32>().ok()? == uid).then(|| f[3].parse().ok())?
        })
        .next()
        .unwrap_or(0)
}

/// The home directory of `uid` in `/etc/passwd`-formatted text (`/` when the user is
/// unknown, as runc does).
pub fn home_dir(passwd: &str, uid: u32) -> String {
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 6 && f[2].parse::<u32>().ok()? == uid && !f[5].is_empty())
                .then(|| f[5].to_owned())
        })
        .unwrap_or_else(|| "/".to_owned())
}

/// Resolves `program` the way `execvp` would with the container's `PATH` (runc's default
/// when the env has none): a name with a `/` is used as is.
pub fn lookup_path(program: &str, path_env: Option<&str>) -> Option<std::path::PathBuf> {
    if program.is_empty() {
        return None;
    }
    if program.contains('/') {
        let p = Path::new(program);
        return is_executable(p).then(|| p.to_owned());
    }
    let path = path_env.unwrap_or(DEFAULT_PATH);
    path.split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(program))
        .find(|p| is_executable(p))
}

/// runc's `PATH` for containers whose environment does not set one.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_parsing() {
        let line = "42 (sh (x)) S 1 42 42 0 -1 4194304 96 0 0 0 0 0 0 0 20 0 1 0 123456 2564096 220 18446744073709551615";
        assert_eq!(parse_start_time(line), Some(123_456));
        assert_eq!(parse_start_time("42 (sh) S 1"), None);
        let me = std::process::id() as i32;
        let start = start_time(me).unwrap();
        assert!(is_same_process(me, start));
        assert!(!is_same_process(me, start + 1));
    }

    #[test]
    fn primary_groups() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nbad\n";
        assert_eq!(primary_gid(passwd, 65534), 65534);
        assert_eq!(primary_gid(passwd, 0), 0);
        assert_eq!(primary_gid(passwd, 1234), 0);
        assert_eq!(home_dir(passwd, 0), "/root");
        assert_eq!(home_dir(passwd, 65534), "/nonexistent");
        assert_eq!(home_dir(passwd, 1234), "/");
    }

    #[test]
    fn path_lookup() {
        assert!(lookup_path("sh", None).is_some());
        assert_eq!(lookup_path("sh", Some("/nonexistent")), None);
        assert_eq!(lookup_path("/bin/sh", Some("")), Some("/bin/sh".into()));
        assert_eq!(lookup_path("nope-not-here", None), None);
        assert_eq!(lookup_path("/etc/passwd", None), None);
        assert_eq!(lookup_path("", None), None);
    }
}
