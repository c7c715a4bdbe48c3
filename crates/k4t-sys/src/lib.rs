//! The only crate of k4t allowed `unsafe`: thin, safe wrappers over the process and namespace
//! syscalls that `rustix` exposes only as `unsafe` (or not at all) and that k4t's per-container
//! supervisor needs: `fork`, `unshare`, pre-exec hooks, and an init's reaping loop.
//!
//! Soundness rests on one rule, checked at run time rather than assumed: the operations that
//! are only sound without other threads (`fork`, pre-exec hooks that allocate) refuse to run in
//! a multi-threaded process. The supervisor (`k4t shim`) is single-threaded by design; the
//! tokio-based runtime never calls them.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd as _, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command};

use rustix::process::{Pid, WaitOptions};
use rustix::thread::{LinkNameSpaceType, UnshareFlags};
use smallvec::SmallVec;

/// The number of threads of the calling process, from `/proc/self/stat`.
pub fn thread_count() -> io::Result<u32> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    parse_thread_count(&stat)
        .ok_or_else(|| io::Error::other(format!("unexpected /proc/self/stat: {stat:?}")))
}

/// Field 20 (`num_threads`) of a `/proc/<pid>/stat` line; the command name (field 2) may
/// contain spaces and parentheses, so fields are counted after the last `)`.
fn parse_thread_count(stat: &str) -> Option<u32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // After ")" come fields 3.. ; num_threads is field 20, the 18th of these.
    rest.split_whitespace().nth(17)?.parse().ok()
}

fn require_single_threaded(what: &str) -> io::Result<()> {
    match thread_count()? {
        1 => Ok(()),
        n => Err(io::Error::other(format!(
            "{what} needs a single-threaded process, this one has {n} threads"
        ))),
    }
}

/// Which side of a [`fork`] the caller is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fork {
    /// The original process; the child's PID.
    Parent(Pid),
    /// The new process.
    Child,
}

/// `fork()`, allowed only in a single-threaded process (otherwise an error, nothing forked).
pub fn fork() -> io::Result<Fork> {
    require_single_threaded("fork")?;
    // SAFETY: the process has exactly one thread (checked just above, and no other thread can
    // appear in between since only this thread could create it), so the child inherits a
    // consistent heap, consistent locks and no half-finished operation of another thread:
    // it may run any code, not only async-signal-safe functions.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Fork::Child),
        pid => Pid::from_raw(pid)
            .map(Fork::Parent)
            .ok_or_else(|| io::Error::other("fork returned an invalid pid")),
    }
}

/// Namespaces a process can create or join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Namespaces {
    /// Network.
    pub net: bool,
    /// Hostname (UTS).
    pub uts: bool,
    /// System V IPC and POSIX message queues.
    pub ipc: bool,
    /// Process IDs (applies to the caller's future children, not to the caller).
    pub pid: bool,
    /// Mounts.
    pub mount: bool,
}

impl Namespaces {
    fn flags(self) -> UnshareFlags {
        let mut f = UnshareFlags::empty();
        for (on, flag) in [
            (self.net, UnshareFlags::NEWNET),
            (self.uts, UnshareFlags::NEWUTS),
            (self.ipc, UnshareFlags::NEWIPC),
            (self.pid, UnshareFlags::NEWPID),
            (self.mount, UnshareFlags::NEWNS),
        ] {
            if on {
                f |= flag;
            }
        }
        f
    }
}

/// `unshare()` of the given namespaces for the calling thread (and, in a single-threaded
/// process, the process).
pub fn unshare(namespaces: Namespaces) -> io::Result<()> {
    let flags = namespaces.flags();
    if flags.is_empty() {
        return Ok(());
    }
    // SAFETY: rustix marks unshare unsafe only because of `CLONE_FILES`, which would let one
    // thread lose access to file descriptors another thread created. `Namespaces` cannot
    // express `CLONE_FILES` (nor `CLONE_FS`), so the flags only detach namespaces.
    unsafe { rustix::thread::unshare_unsafe(flags) }.map_err(io::Error::from)
}

/// A namespace kind for [`setns`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    /// Network.
    Net,
    /// Hostname.
    Uts,
    /// IPC.
    Ipc,
    /// PID (for the caller's future children).
    Pid,
    /// Mounts (the caller must be single-threaded).
    Mount,
}

/// `setns()`: moves the calling thread into the namespace `fd` (a `/proc/<pid>/ns/<kind>`
/// file) refers to; the kernel checks that `fd` is of that kind.
pub fn setns(fd: BorrowedFd<'_>, kind: Namespace) -> io::Result<()> {
    let t = match kind {
        Namespace::Net => LinkNameSpaceType::Network,
        Namespace::Uts => LinkNameSpaceType::HostNameAndNISDomainName,
        Namespace::Ipc => LinkNameSpaceType::InterProcessCommunication,
        Namespace::Pid => LinkNameSpaceType::ProcessID,
        Namespace::Mount => LinkNameSpaceType::Mount,
    };
    rustix::thread::move_into_link_name_space(fd, Some(t)).map_err(io::Error::from)
}

/// Spawns `cmd`, running `hook` in the child between `fork` and `exec` (namespace, mount,
/// cgroup and credential setup). Allowed only in a single-threaded process, which is what
/// lets the hook allocate and take locks. An error from the hook fails the spawn with that
/// error, as an exec failure does.
pub fn spawn_with_hook<F>(cmd: &mut Command, hook: F) -> io::Result<Child>
where
    F: FnMut() -> io::Result<()> + Send + Sync + 'static,
{
    require_single_threaded("a pre-exec hook")?;
    // SAFETY: `pre_exec` requires the closure to be safe to run in the forked child of the
    // caller. With several threads that means async-signal-safe code only (another thread may
    // have held the allocator's lock at the fork); the caller has a single thread (checked
    // above; it cannot gain one before `spawn` below since only this thread could create it),
    // so the child's state is consistent and the hook may run arbitrary code.
    unsafe {
        cmd.pre_exec(hook);
    }
    cmd.spawn()
}

/// `execve()`: replaces the calling process with `path`, `argv` and exactly `env`
/// (`NAME=value` strings). Returns only on failure, with the error.
pub fn execve(path: &CStr, argv: &[CString], env: &[CString]) -> io::Error {
    let argv_ptrs: Vec<*const libc::c_char> = argv
        .iter()
        .map(|a| a.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    let env_ptrs: Vec<*const libc::c_char> = env
        .iter()
        .map(|e| e.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    // SAFETY: `path` is a valid C string; both pointer arrays are null-terminated and point
    // into `argv` and `env`, which outlive the call (on success nothing runs afterwards).
    unsafe { libc::execve(path.as_ptr(), argv_ptrs.as_ptr(), env_ptrs.as_ptr()) };
    io::Error::last_os_error()
}

/// Sets the real, effective and saved user and group IDs and the supplementary groups of
/// the calling thread — of the whole process when it has a single thread, as in a pre-exec
/// hook. Groups first, then the group ID, then the user ID (after which the others can no
/// longer be changed).
pub fn set_credentials(uid: u32, gid: u32, groups: &[u32]) -> io::Result<()> {
    require_single_threaded("changing credentials")?;
    use rustix::process::{Gid, Uid};
    let groups: Vec<Gid> = groups.iter().map(|g| Gid::from_raw(*g)).collect();
    rustix::thread::set_thread_groups(&groups)?;
    let gid = Gid::from_raw(gid);
    rustix::thread::set_thread_res_gid(gid, gid, gid)?;
    let uid = Uid::from_raw(uid);
    rustix::thread::set_thread_res_uid(uid, uid, uid)?;
    Ok(())
}

fn signal_set(signals: &[i32]) -> libc::sigset_t {
    // SAFETY: `sigset_t` is a plain bit array for which all-zero is a valid (empty) value;
    // sigemptyset then initialises it as POSIX requires.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, exclusively borrowed sigset_t.
    unsafe { libc::sigemptyset(&mut set) };
    for &s in signals {
        // SAFETY: as above; an invalid signal number only makes sigaddset return -1.
        unsafe { libc::sigaddset(&mut set, s) };
    }
    set
}

/// The loop of a pod's init process (PID 1 of the pod's PID namespace, the role of the pause
/// container): reaps every child that exits, forever; exits 0 on SIGTERM or SIGINT (as
/// `pause` does). Blocks those signals and SIGCHLD so they are only consumed by `sigwait`.
pub fn reap_as_init() -> io::Result<std::convert::Infallible> {
    let set = signal_set(&[libc::SIGCHLD, libc::SIGTERM, libc::SIGINT]);
    // SAFETY: `set` is a valid signal set; a null old-set pointer is allowed.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    loop {
        // Reap everything that already exited (orphans of the pod land here).
        while let Ok(Some(_)) = rustix::process::waitpid(None, WaitOptions::NOHANG) {}
        let mut sig: libc::c_int = 0;
        // SAFETY: `set` is a valid signal set and `sig` a valid out-pointer for the call.
        let rc = unsafe { libc::sigwait(&set, &mut sig) };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        if sig == libc::SIGTERM || sig == libc::SIGINT {
            std::process::exit(0);
        }
    }
}

/// A file descriptor registered with tokio's reactor, to wait for it to become readable (a
/// pidfd becomes readable when its process ends). It owns the descriptor and never lends it
/// out mutably, which is what keeps the registration sound.
#[derive(Debug)]
pub struct Readable {
    fd: tokio::io::unix::AsyncFd<OwnedFd>,
}

impl Readable {
    /// Registers `fd` (call inside a tokio runtime).
    pub fn new(fd: OwnedFd) -> io::Result<Self> {
        // SAFETY: `register_with_interest` needs the descriptor to stay open and the same
        // until the `AsyncFd` is dropped. The `OwnedFd` is moved into the `AsyncFd`, and this
        // type never exposes it mutably nor takes it back out, so it is closed only when the
        // `AsyncFd` (and with it the registration) is dropped.
        let fd = unsafe {
            tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE)
        }
        .map_err(io::Error::from)?;
        Ok(Readable { fd })
    }

    /// Waits until the descriptor is readable.
    pub async fn readable(&self) -> io::Result<()> {
        self.fd
            .readable()
            .await
            .map(|mut guard| guard.retain_ready())
    }

    /// The descriptor, for reads and polls.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.get_ref().as_fd()
    }
}

/// A read-only mapping backed by a file, from `/proc/self/smaps`, and whether some of its pages
/// are anonymous: copied when the loader relocated them (the RELRO segment) and no longer the
/// file's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileMapping {
    start: usize,
    end: usize,
    has_anonymous: bool,
}

fn read_only_file_mappings(smaps: &str) -> Vec<FileMapping> {
    let mut out = Vec::new();
    let mut current: Option<FileMapping> = None;
    for line in smaps.lines() {
        let mut words = line.split_whitespace();
        let Some(first) = words.next() else { continue };
        if first.ends_with(':') {
            if first == "Anonymous:"
                && let Some(m) = current.as_mut()
            {
                m.has_anonymous = words.next().and_then(|v| v.parse().ok()) != Some(0u64);
            }
            continue;
        }
        // A mapping's header: `start-end perms offset dev inode [path]`.
        out.extend(current.take());
        let perms = words.next().unwrap_or_default();
        let inode = words.nth(2).unwrap_or("0");
        let Some((start, end)) = first.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (
            usize::from_str_radix(start, 16),
            usize::from_str_radix(end, 16),
        ) else {
            continue;
        };
        if perms.starts_with('r') && perms.as_bytes().get(1) == Some(&b'-') && inode != "0" {
            // Unknown until its `Anonymous:` line says otherwise: never drop what may be a copy.
            current = Some(FileMapping {
                start,
                end,
                has_anonymous: true,
            });
        }
    }
    out.extend(current);
    out
}

/// `/proc/PID/pagemap`: the page is resident.
const PAGEMAP_PRESENT: u64 = 1 << 63;
/// `/proc/PID/pagemap`: the page is a file page (or shared anonymous), not a private copy.
const PAGEMAP_FILE: u64 = 1 << 61;

/// The runs of a mapping starting at `start` whose pages may be dropped, given each page's
/// pagemap entry: every page but the resident private copies.
fn droppable_runs(start: usize, page: usize, entries: &[u64]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut run: Option<usize> = None;
    for (i, &e) in entries.iter().enumerate() {
        let copied = e & PAGEMAP_PRESENT != 0 && e & PAGEMAP_FILE == 0;
        let at = start + i * page;
        match (copied, run) {
            (false, None) => run = Some(at),
            (true, Some(from)) => {
                runs.push((from, at));
                run = None;
            }
            _ => {}
        }
    }
    if let Some(from) = run {
        runs.push((from, start + entries.len() * page));
    }
    runs
}

/// The page ranges of this process that hold exactly their file's bytes and can never be
/// written: read-only file mappings, less the pages the loader copied to relocate them.
fn clean_file_ranges() -> io::Result<Vec<(usize, usize)>> {
    use std::os::unix::fs::FileExt as _;
    let smaps = std::fs::read_to_string("/proc/self/smaps")?;
    let page = rustix::param::page_size();
    let mut out = Vec::new();
    let mut pagemap = None;
    for m in read_only_file_mappings(&smaps) {
        if !m.has_anonymous {
            out.push((m.start, m.end));
            continue;
        }
        // Without a readable pagemap such a mapping is kept whole; the others are still given
        // back.
        let file = pagemap.get_or_insert_with(|| std::fs::File::open("/proc/self/pagemap").ok());
        let Some(file) = file.as_ref() else {
            continue;
        };
        let mut raw = vec![0u8; (m.end - m.start) / page * 8];
        if file
            .read_exact_at(&mut raw, (m.start / page * 8) as u64)
            .is_err()
        {
            continue;
        }
        let entries: Vec<u64> = raw
            .chunks_exact(8)
            .map(|c| u64::from_ne_bytes(c.try_into().unwrap_or_default()))
            .collect();
        out.extend(droppable_runs(m.start, page, &entries));
    }
    Ok(out)
}

/// Gives back this process's resident pages that are exactly a file's and read-only (program
/// text and read-only data of the binary and its libraries, the parts of the relocated
/// read-only segment the loader did not write). They stay in the page cache, shared with every
/// other process; this one faults back in only what it goes on to use. For a long-lived, small
/// process started from a large binary (a container's supervisor), whose start-up touched far
/// more than its loop needs.
pub fn release_clean_file_pages() -> io::Result<()> {
    // The ranges are copied to the stack and everything they came from freed before the first
    // `madvise`, and the calls are raw system calls: nothing after the release touches the
    // allocator's or libc's code, which would otherwise be the first pages to fault back in.
    let ranges: SmallVec<[(usize, usize); 64]> = clean_file_ranges()?.into_iter().collect();
    for &(start, end) in &ranges {
        // SAFETY: the range lies in one read-only, file-backed mapping of this process and
        // holds no page the process copied: every resident page in it equals the file's
        // content, so dropping it changes nothing the program can observe — the next access
        // reads the same bytes from the page cache. Nothing writes the range meanwhile: the
        // mapping is not writable.
        unsafe {
            rustix::mm::madvise(
                start as *mut std::ffi::c_void,
                end - start,
                rustix::mm::Advice::LinuxDontNeed,
            )
        }?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_count_parsing() {
        let check = |line: &str, expected: Option<u32>| {
            assert_eq!(parse_thread_count(line), expected, "{line}")
        };
        check(
            "1234 (k4t) S 1 1234 1234 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 12345 1000 100",
            Some(1),
        );
        check(
            "1234 (a) b (c) S 1 1234 1234 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 7 0 12345 1000 100",
            Some(7),
        );
        check("garbage", None);
        check("1 (x) S 1", None);
    }

    #[test]
    fn only_read_only_file_mappings_are_released() {
        let smaps = "\
00400000-00500000 r-xp 00000000 fe:01 1234 /usr/bin/k4t
Rss: 100 kB
Anonymous: 0 kB
00500000-00600000 r--p 00100000 fe:01 1234 /usr/bin/k4t
Anonymous: 8 kB
00600000-00700000 rw-p 00200000 fe:01 1234 /usr/bin/k4t
Anonymous: 0 kB
00700000-00800000 r--p 00000000 00:00 0 
Anonymous: 0 kB
7f0000000000-7f0000001000 r--p 00000000 fe:01 99 /usr/lib/libc.so.6
Anonymous: 0 kB
7f0000002000-7f0000003000 r-xp 00000000 fe:01 99 /usr/lib/libc.so.6
";
        let m = |start, end, has_anonymous| FileMapping {
            start,
            end,
            has_anonymous,
        };
        assert_eq!(
            read_only_file_mappings(smaps),
            [
                m(0x40_0000, 0x50_0000, false),
                m(0x50_0000, 0x60_0000, true),
                m(0x7f00_0000_0000, 0x7f00_0000_1000, false),
                // No `Anonymous:` line: treated as holding copies.
                m(0x7f00_0000_2000, 0x7f00_0000_3000, true),
            ]
        );
    }

    #[test]
    fn copied_pages_are_kept_and_the_rest_dropped() {
        let copied = PAGEMAP_PRESENT | 42;
        let file = PAGEMAP_PRESENT | PAGEMAP_FILE | 7;
        let absent = 0;
        let runs = droppable_runs(
            0x1000,
            0x1000,
            &[file, absent, copied, copied, file, copied],
        );
        assert_eq!(runs, [(0x1000, 0x3000), (0x5000, 0x6000)]);
        assert_eq!(droppable_runs(0x1000, 0x1000, &[copied]), []);
        assert_eq!(
            droppable_runs(0x1000, 0x1000, &[absent, file]),
            [(0x1000, 0x3000)]
        );
    }

    #[test]
    fn releasing_pages_keeps_the_program_working() {
        release_clean_file_pages().unwrap();
        // Code and read-only data fault back in from the page cache.
        assert_eq!(format!("{}", 6 * 7), "42");
        assert!(thread_count().unwrap() >= 1);
    }

    #[test]
    fn test_threads_are_counted() {
        // The test harness itself runs tests on threads: never one thread here.
        assert!(thread_count().unwrap() >= 1);
    }

    #[test]
    fn fork_and_hooks_refuse_a_multi_threaded_process() {
        let _t = std::thread::spawn(std::thread::park);
        let err = fork().unwrap_err();
        assert!(err.to_string().contains("single-threaded"), "{err}");
        let err = spawn_with_hook(&mut Command::new("true"), || Ok(())).unwrap_err();
        assert!(err.to_string().contains("single-threaded"), "{err}");
        let err = set_credentials(0, 0, &[]).unwrap_err();
        assert!(err.to_string().contains("single-threaded"), "{err}");
    }

    #[test]
    fn namespace_flags() {
        assert!(Namespaces::default().flags().is_empty());
        let all = Namespaces {
            net: true,
            uts: true,
            ipc: true,
            pid: true,
            mount: true,
        };
        assert_eq!(
            all.flags(),
            UnshareFlags::NEWNET
                | UnshareFlags::NEWUTS
                | UnshareFlags::NEWIPC
                | UnshareFlags::NEWPID
                | UnshareFlags::NEWNS
        );
        assert!(!all.flags().contains(UnshareFlags::FILES));
        // Unsharing nothing is a no-op that always succeeds.
        unshare(Namespaces::default()).unwrap();
    }

    #[test]
    fn execve_reports_its_error() {
        let err = execve(c"/nonexistent/k4t-test", &[c"x".to_owned()], &[]);
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn a_pidfd_becomes_readable_when_its_process_ends() {
        let mut child = Command::new("sleep").arg("0.2").spawn().unwrap();
        let pid = Pid::from_raw(child.id() as i32).unwrap();
        let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).unwrap();
        let r = Readable::new(pidfd).unwrap();
        let early = tokio::time::timeout(std::time::Duration::from_millis(50), r.readable()).await;
        assert!(early.is_err(), "readable before the process ended");
        tokio::time::timeout(std::time::Duration::from_secs(5), r.readable())
            .await
            .unwrap()
            .unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn signal_sets_hold_their_signals() {
        let set = signal_set(&[libc::SIGCHLD, libc::SIGTERM]);
        // SAFETY: `set` is a valid, initialised signal set.
        let has = |s| unsafe { libc::sigismember(&set, s) } == 1;
        assert!(has(libc::SIGCHLD) && has(libc::SIGTERM) && !has(libc::SIGINT));
    }
}
