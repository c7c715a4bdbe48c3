//! Pod IP allocation from the node's pod CIDR, kept on disk in the style of the CNI
//! `host-local` plugin: one file per allocated address, named by the address and holding the
//! owner (the sandbox ID). Creating a file with `O_EXCL` is the allocation, so two runtimes
//! over the same directory never hand out one address twice, and a crash loses nothing.
//! The network address, the gateway (`.1`, the bridge) and the broadcast address are never
//! allocated.

use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// An IPv4 network such as `10.42.0.0/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Net {
    pub network: Ipv4Addr,
    pub prefix: u8,
}

impl FromStr for Ipv4Net {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = s
            .split_once('/')
            .ok_or_else(|| format!("invalid CIDR {s:?}: no prefix length"))?;
        let addr: Ipv4Addr = addr
            .parse()
            .map_err(|e| format!("invalid CIDR {s:?}: {e}"))?;
        let prefix: u8 = prefix
            .parse()
            .map_err(|e| format!("invalid CIDR {s:?}: {e}"))?;
        if !(8..=30).contains(&prefix) {
            return Err(format!(
                "invalid CIDR {s:?}: the prefix length must be between 8 and 30"
            ));
        }
        let mask = u32::MAX << (32 - prefix);
        Ok(Ipv4Net {
            network: Ipv4Addr::from(u32::from(addr) & mask),
            prefix,
        })
    }
}

impl std::fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl Ipv4Net {
    fn first(self) -> u32 {
        u32::from(self.network)
    }

    fn broadcast(self) -> u32 {
        self.first() | (u32::MAX >> self.prefix)
    }

    /// The bridge's address: the first host address.
    pub fn gateway(self) -> Ipv4Addr {
        Ipv4Addr::from(self.first() + 1)
    }

    /// Whether `ip` may be given to a pod.
    pub fn is_pod_address(self, ip: Ipv4Addr) -> bool {
        let n = u32::from(ip);
        n > self.first() + 1 && n < self.broadcast()
    }

    /// The pod addresses in allocation order, starting after `last` (wrapping around).
    pub fn candidates_after(self, last: Option<Ipv4Addr>) -> impl Iterator<Item = Ipv4Addr> {
        let lo = self.first() + 2;
        let hi = self.broadcast() - 1;
        let count = hi - lo + 1;
        let start = match last {
            Some(ip) if self.is_pod_address(ip) => u32::from(ip) + 1 - lo,
            _ => 0,
        };
        (0..count).map(move |i| Ipv4Addr::from(lo + (start + i) % count))
    }
}

/// The allocator over one directory.
#[derive(Debug, Clone)]
pub struct Ipam {
    dir: PathBuf,
    net: Ipv4Net,
}

const LAST: &str = "last_reserved_ip";

impl Ipam {
    pub fn new(dir: &Path, net: Ipv4Net) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Ipam {
            dir: dir.to_owned(),
            net,
        })
    }

    pub fn net(&self) -> Ipv4Net {
        self.net
    }

    /// Allocates an address for `owner`; an owner that already has one gets it again.
    pub fn allocate(&self, owner: &str) -> io::Result<Ipv4Addr> {
        if let Some(ip) = self.owned_by(owner)? {
            return Ok(ip);
        }
        let last = std::fs::read_to_string(self.dir.join(LAST))
            .ok()
            .and_then(|s| s.trim().parse().ok());
        for ip in self.net.candidates_after(last) {
            let path = self.dir.join(ip.to_string());
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    use std::io::Write as _;
                    f.write_all(owner.as_bytes())?;
                    // Only a hint for where to look next: losing it costs a longer scan.
                    let _ = std::fs::write(self.dir.join(LAST), ip.to_string());
                    return Ok(ip);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other(format!(
            "no free address left in the pod network {}",
            self.net
        )))
    }

    /// Releases `ip` if `owner` holds it.
    pub fn release(&self, ip: Ipv4Addr, owner: &str) -> io::Result<()> {
        let path = self.dir.join(ip.to_string());
        match std::fs::read_to_string(&path) {
            Ok(o) if o == owner => std::fs::remove_file(&path),
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The address `owner` holds, if any.
    pub fn owned_by(&self, owner: &str) -> io::Result<Option<Ipv4Addr>> {
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let Some(ip) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<Ipv4Addr>().ok())
            else {
                continue;
            };
            if std::fs::read_to_string(entry.path()).is_ok_and(|o| o == owner) {
                return Ok(Some(ip));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_parsing() {
        assert_eq!(
            net("10.42.0.7/24"),
            Ipv4Net {
                network: Ipv4Addr::new(10, 42, 0, 0),
                prefix: 24
            }
        );
        assert_eq!(net("10.42.0.0/24").to_string(), "10.42.0.0/24");
        assert_eq!(net("10.42.0.0/24").gateway(), Ipv4Addr::new(10, 42, 0, 1));
        for bad in [
            "10.42.0.0",
            "10.42.0.0/31",
            "10.42.0.0/x",
            "nope/24",
            "10.42.0.0/7",
        ] {
            assert!(bad.parse::<Ipv4Net>().is_err(), "{bad}");
        }
    }

    #[test]
    fn candidates_skip_network_gateway_and_broadcast_and_wrap() {
        let n = net("10.0.0.0/29"); // .0 network, .1 gateway, .2-.6 pods, .7 broadcast
        let all: Vec<String> = n.candidates_after(None).map(|i| i.to_string()).collect();
        assert_eq!(
            all,
            ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]
        );
        let after: Vec<String> = n
            .candidates_after(Some(Ipv4Addr::new(10, 0, 0, 5)))
            .map(|i| i.to_string())
            .collect();
        assert_eq!(
            after,
            ["10.0.0.6", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"]
        );
        assert!(!n.is_pod_address(Ipv4Addr::new(10, 0, 0, 1)));
        assert!(!n.is_pod_address(Ipv4Addr::new(10, 0, 0, 7)));
    }

    #[test]
    fn allocation_release_and_exhaustion() {
        let dir = tempfile::tempdir().unwrap();
        let ipam = Ipam::new(dir.path(), net("10.0.0.0/29")).unwrap();
        let a = ipam.allocate("a").unwrap();
        assert_eq!(a, Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(ipam.allocate("a").unwrap(), a, "same owner, same address");
        let b = ipam.allocate("b").unwrap();
        assert_eq!(b, Ipv4Addr::new(10, 0, 0, 3));
        ipam.release(a, "someone-else").unwrap();
        assert_eq!(ipam.owned_by("a").unwrap(), Some(a));
        ipam.release(a, "a").unwrap();
        // The next allocation continues after the last one rather than reusing at once.
        assert_eq!(ipam.allocate("c").unwrap(), Ipv4Addr::new(10, 0, 0, 4));
        for o in ["d", "e", "f"] {
            ipam.allocate(o).unwrap();
        }
        let err = ipam.allocate("g").unwrap_err();
        assert_eq!(
            err.to_string(),
            "no free address left in the pod network 10.0.0.0/29"
        );
        // A second allocator over the same directory sees the same state.
        let again = Ipam::new(dir.path(), net("10.0.0.0/29")).unwrap();
        assert_eq!(again.owned_by("b").unwrap(), Some(b));
    }
}
