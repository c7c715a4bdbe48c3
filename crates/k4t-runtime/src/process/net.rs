//! Pod networking over netlink (what the CNI `bridge` plugin does, without a plugin): a host
//! bridge holding the gateway address, and per pod a veth pair whose pod end is `eth0` in the
//! pod's network namespace with the pod's IP, a default route through the bridge, and `lo`
//! up. No traffic is ever sent here; only links, addresses and routes are configured.

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsFd as _;

use futures::TryStreamExt as _;
use rtnetlink::packet_route::link::{InfoData, InfoKind, InfoVeth, LinkMessage};
use rtnetlink::{Handle, LinkBridge, LinkMessageBuilder, LinkUnspec, RouteMessageBuilder};

use super::ipam::Ipv4Net;

const EEXIST: i32 = 17;
const ENODEV: i32 = 19;

/// The name of the pod end of the veth pair.
pub const POD_INTERFACE: &str = "eth0";

fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => Some(-m.raw_code()),
        _ => None,
    }
}

/// The host end's name for a sandbox: `k4v` + the start of its ID (interface names have at
/// most 15 bytes).
pub fn host_veth_name(sandbox_id: &str) -> String {
    format!("k4v{}", &sandbox_id[..sandbox_id.len().min(11)])
}

/// A netlink connection in the host's network namespace.
#[derive(Clone)]
pub struct HostNetwork {
    handle: Handle,
    bridge: String,
    net: Ipv4Net,
}

impl HostNetwork {
    /// Opens the connection (inside a tokio runtime).
    pub fn new(bridge: &str, net: Ipv4Net) -> std::io::Result<Self> {
        let (conn, handle, _) = rtnetlink::new_connection()?;
        tokio::spawn(conn);
        Ok(HostNetwork {
            handle,
            bridge: bridge.to_owned(),
            net,
        })
    }

    async fn link_index(&self, name: &str) -> Result<Option<u32>, String> {
        match self
            .handle
            .link()
            .get()
            .match_name(name)
            .execute()
            .try_next()
            .await
        {
            Ok(Some(link)) => Ok(Some(link.header.index)),
            Ok(None) => Ok(None),
            Err(e) if errno(&e) == Some(ENODEV) => Ok(None),
            Err(e) => Err(format!("looking up link {name}: {e}")),
        }
    }

    /// Creates the bridge if missing, gives it the gateway address and brings it up; returns
    /// its index.
    pub async fn ensure_bridge(&self) -> Result<u32, String> {
        let index = match self.link_index(&self.bridge).await? {
            Some(i) => i,
            None => {
                match self
                    .handle
                    .link()
                    .add(LinkBridge::new(&self.bridge).build())
                    .execute()
                    .await
                {
                    Err(e) if errno(&e) != Some(EEXIST) => {
                        return Err(format!("creating bridge {}: {e}", self.bridge));
                    }
                    _ => {}
                }
                self.link_index(&self.bridge)
                    .await?
                    .ok_or_else(|| format!("bridge {} vanished after creation", self.bridge))?
            }
        };
        let gw = self.net.gateway();
        match self
            .handle
            .address()
            .add(index, IpAddr::V4(gw), self.net.prefix)
            .execute()
            .await
        {
            Err(e) if errno(&e) != Some(EEXIST) => {
                return Err(format!(
                    "adding {gw}/{} to {}: {e}",
                    self.net.prefix, self.bridge
                ));
            }
            _ => {}
        }
        self.handle
            .link()
            .set(LinkUnspec::new_with_index(index).up().build())
            .execute()
            .await
            .map_err(|e| format!("bringing {} up: {e}", self.bridge))?;
        Ok(index)
    }

    /// Connects the network namespace of `pid` to the bridge with address `ip`.
    pub async fn attach(
        &self,
        bridge_index: u32,
        pid: u32,
        host_veth: &str,
        ip: Ipv4Addr,
    ) -> Result<(), String> {
        // The pod end is created directly in the pod's namespace, so its name never clashes
        // with the host's interfaces.
        let peer = LinkMessageBuilder::<LinkUnspec>::new()
            .name(POD_INTERFACE.to_owned())
            .setns_by_pid(pid)
            .build();
        let veth: LinkMessage =
            LinkMessageBuilder::<LinkUnspec>::new_with_info_kind(InfoKind::Veth)
                .name(host_veth.to_owned())
                .set_info_data(InfoData::Veth(InfoVeth::Peer(peer)))
                .build();
        self.handle
            .link()
            .add(veth)
            .execute()
            .await
            .map_err(|e| format!("creating veth {host_veth}: {e}"))?;
        let index = self
            .link_index(host_veth)
            .await?
            .ok_or_else(|| format!("veth {host_veth} vanished after creation"))?;
        self.handle
            .link()
            .set(
                LinkUnspec::new_with_index(index)
                    .controller(bridge_index)
                    .up()
                    .build(),
            )
            .execute()
            .await
            .map_err(|e| format!("attaching {host_veth} to {}: {e}", self.bridge))?;
        let pod = PodNetns::open(pid).await?;
        pod.configure(ip, self.net).await
    }

    /// Deletes the host end of a pod's veth pair (the pod end goes with it); a missing link
    /// is fine (its namespace is gone, which deleted the pair).
    pub async fn detach(&self, host_veth: &str) -> Result<(), String> {
        let Some(index) = self.link_index(host_veth).await? else {
            return Ok(());
        };
        match self.handle.link().del(index).execute().await {
            Err(e) if errno(&e) != Some(ENODEV) => Err(format!("deleting {host_veth}: {e}")),
            _ => Ok(()),
        }
    }

    /// Deletes the bridge (tests use their own bridge and remove it).
    pub async fn delete_bridge(&self) -> Result<(), String> {
        self.detach(&self.bridge.clone()).await
    }
}

/// A netlink connection opened inside a pod's network namespace.
struct PodNetns {
    handle: Handle,
}

impl PodNetns {
    /// A netlink socket belongs to the namespace it was created in: create it on a
    /// short-lived thread that first moves into the pod's namespace (a thread of its own, so
    /// no tokio worker ever changes namespace).
    async fn open(pid: u32) -> Result<Self, String> {
        let ns_path = format!("/proc/{pid}/ns/net");
        let ns = std::fs::File::open(&ns_path).map_err(|e| format!("opening {ns_path}: {e}"))?;
        let rt = tokio::runtime::Handle::current();
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("k4t-netns".to_owned())
            .spawn(move || {
                let result = (|| {
                    k4t_sys::setns(ns.as_fd(), k4t_sys::Namespace::Net)
                        .map_err(|e| format!("entering the pod's network namespace: {e}"))?;
                    let _guard = rt.enter();
                    rtnetlink::new_connection()
                        .map_err(|e| format!("netlink socket in the pod: {e}"))
                })();
                let _ = tx.send(result);
            })
            .map_err(|e| format!("starting a thread: {e}"))?;
        let (conn, handle, _) = rx
            .await
            .map_err(|_| "the namespace thread died".to_owned())??;
        tokio::spawn(conn);
        Ok(PodNetns { handle })
    }

    async fn configure(&self, ip: Ipv4Addr, net: Ipv4Net) -> Result<(), String> {
        // lo is always index 1 in a new namespace.
        self.handle
            .link()
            .set(LinkUnspec::new_with_index(1).up().build())
            .execute()
            .await
            .map_err(|e| format!("bringing lo up: {e}"))?;
        let link = self
            .handle
            .link()
            .get()
            .match_name(POD_INTERFACE)
            .execute()
            .try_next()
            .await
            .map_err(|e| format!("looking up {POD_INTERFACE} in the pod: {e}"))?
            .ok_or_else(|| format!("no {POD_INTERFACE} in the pod"))?;
        let index = link.header.index;
        self.handle
            .address()
            .add(index, IpAddr::V4(ip), net.prefix)
            .execute()
            .await
            .map_err(|e| format!("adding {ip}/{} to {POD_INTERFACE}: {e}", net.prefix))?;
        self.handle
            .link()
            .set(LinkUnspec::new_with_index(index).up().build())
            .execute()
            .await
            .map_err(|e| format!("bringing {POD_INTERFACE} up: {e}"))?;
        let route = RouteMessageBuilder::<Ipv4Addr>::new()
            .gateway(net.gateway())
            .output_interface(index)
            .build();
        self.handle
            .route()
            .add(route)
            .execute()
            .await
            .map_err(|e| format!("adding the default route via {}: {e}", net.gateway()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_veth_names_fit_in_an_interface_name() {
        let id = "0123456789abcdef".repeat(4);
        let name = host_veth_name(&id);
        assert_eq!(name, "k4v0123456789a");
        assert!(name.len() <= 15);
        assert_eq!(host_veth_name("ab"), "k4vab");
    }
}
