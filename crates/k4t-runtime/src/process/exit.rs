//! How a process's end becomes a container's exit code and reason (containerd's conventions:
//! 128 + signal for a signal death, `OOMKilled` when the kernel's OOM killer struck in the
//! container's cgroup, `StartError` with exit code 128 when the process could not start).

/// How a process ended, as `waitpid` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Signaled(i32),
}

/// A container's exit as the runtime reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Exit {
    pub exit_code: i32,
    pub signal: Option<i32>,
    pub reason: String,
    pub message: String,
}

pub const REASON_COMPLETED: &str = "Completed";
pub const REASON_ERROR: &str = "Error";
pub const REASON_OOM_KILLED: &str = "OOMKilled";
pub const REASON_START_ERROR: &str = "StartError";

/// The exit of a process that ran: `oom_kills` is the cgroup's OOM-kill count.
pub fn exit_of(ended: Ended, oom_kills: u64, message: String) -> Exit {
    let (exit_code, signal) = match ended {
        Ended::Exited(code) => (code, None),
        Ended::Signaled(sig) => (128 + sig, Some(sig)),
    };
    let reason = if oom_kills > 0 {
        REASON_OOM_KILLED
    } else if exit_code == 0 {
        REASON_COMPLETED
    } else {
        REASON_ERROR
    };
    Exit {
        exit_code,
        signal,
        reason: reason.to_owned(),
        message,
    }
}

/// The exit of a process that could not be started.
pub fn start_error(message: String) -> Exit {
    Exit {
        exit_code: 128,
        signal: None,
        reason: REASON_START_ERROR.to_owned(),
        message,
    }
}

/// The message users see when the executable cannot be found (containerd/runc's words).
pub fn not_found_message(program: &str) -> String {
    format!("exec: \"{program}\": executable file not found in $PATH")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_and_reasons() {
        let check = |ended, oom, code, signal, reason: &str| {
            let e = exit_of(ended, oom, String::new());
            assert_eq!(
                (e.exit_code, e.signal, e.reason.as_str()),
                (code, signal, reason),
                "{ended:?} oom={oom}"
            );
        };
        check(Ended::Exited(0), 0, 0, None, "Completed");
        check(Ended::Exited(1), 0, 1, None, "Error");
        check(Ended::Signaled(15), 0, 143, Some(15), "Error");
        check(Ended::Signaled(9), 0, 137, Some(9), "Error");
        check(Ended::Signaled(9), 1, 137, Some(9), "OOMKilled");
        check(Ended::Exited(1), 2, 1, None, "OOMKilled");
        let e = start_error(not_found_message("nope"));
        assert_eq!((e.exit_code, e.reason.as_str()), (128, "StartError"));
        assert_eq!(
            e.message,
            r#"exec: "nope": executable file not found in $PATH"#
        );
    }
}
