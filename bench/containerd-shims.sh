#!/usr/bin/env bash
# The peer of k4t's per-container supervisor: containerd's runc shim (containerd-shim-runc-v2),
# one per container, measured on the same machine in the same run.
#
#   bench/containerd-shims.sh start N WORKDIR   starts a private containerd in WORKDIR and N
#                                              busybox containers (`ctr run -d`, one shim
#                                              each); prints the shims' PIDs, one per line
#   bench/containerd-shims.sh stop WORKDIR      removes the containers, stops that containerd
#
# Needs root. Installs containerd, runc and busybox-static with apt if they are missing. No
# registry is needed: the image is built here from Debian's static busybox.
set -euo pipefail

cmd=${1:?usage: containerd-shims.sh start N WORKDIR | stop WORKDIR}
ns=k4t-bench

if [ "$cmd" = stop ]; then
  dir=${2:?workdir}
  sock="$dir/containerd.sock"
  if [ -S "$sock" ]; then
    for c in $(ctr -a "$sock" -n "$ns" containers ls -q 2>/dev/null); do
      ctr -a "$sock" -n "$ns" tasks kill -s KILL "$c" >/dev/null 2>&1 || true
    done
    sleep 1
    for c in $(ctr -a "$sock" -n "$ns" containers ls -q 2>/dev/null); do
      ctr -a "$sock" -n "$ns" tasks rm -f "$c" >/dev/null 2>&1 || true
      ctr -a "$sock" -n "$ns" containers rm "$c" >/dev/null 2>&1 || true
    done
  fi
  if [ -f "$dir/containerd.pid" ]; then
    kill "$(cat "$dir/containerd.pid")" 2>/dev/null || true
  fi
  exit 0
fi

n=${2:?count}
dir=${3:?workdir}
mkdir -p "$dir"
if ! command -v containerd >/dev/null || ! command -v runc >/dev/null || [ ! -x /bin/busybox ]; then
  apt-get install -y -qq containerd runc busybox-static >/dev/null
fi

# A one-layer busybox image as an OCI layout that `ctr images import` takes.
img="$dir/busybox.tar"
if [ ! -f "$img" ]; then
  work="$dir/image"
  rm -rf "$work" && mkdir -p "$work/rootfs/bin" "$work/rootfs/tmp" "$work/blobs/sha256"
  cp /bin/busybox "$work/rootfs/bin/busybox"
  for a in sh sleep; do ln -s busybox "$work/rootfs/bin/$a"; done
  chmod 1777 "$work/rootfs/tmp"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/rootfs" -cf "$work/layer.tar" .
  layer=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
  mv "$work/layer.tar" "$work/blobs/sha256/$layer"
  cat >"$work/config.json" <<EOF
{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"],"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":["sha256:$layer"]}}
EOF
  config=$(sha256sum "$work/config.json" | cut -d' ' -f1)
  mv "$work/config.json" "$work/blobs/sha256/$config"
  lsize=$(stat -c %s "$work/blobs/sha256/$layer")
  csize=$(stat -c %s "$work/blobs/sha256/$config")
  cat >"$work/manifest.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$config","size":$csize},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:$layer","size":$lsize}]}
EOF
  manifest=$(sha256sum "$work/manifest.json" | cut -d' ' -f1)
  msize=$(stat -c %s "$work/manifest.json")
  mv "$work/manifest.json" "$work/blobs/sha256/$manifest"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$work/oci-layout"
  cat >"$work/index.json" <<EOF
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$manifest","size":$msize,"annotations":{"io.containerd.image.name":"docker.io/k4t/busybox:bench","org.opencontainers.image.ref.name":"bench"}}]}
EOF
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work" -cf "$img" oci-layout index.json blobs
fi

sock="$dir/containerd.sock"
cat >"$dir/config.toml" <<EOF
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
[plugins."io.containerd.runtime.v1.linux"]
  shim_debug = false
EOF
containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
echo $! >"$dir/containerd.pid"
for _ in $(seq 100); do
  ctr -a "$sock" version >/dev/null 2>&1 && break
  sleep 0.1
done
ctr -a "$sock" -n "$ns" images import "$img" >/dev/null
for i in $(seq "$n"); do
  # The host network keeps the comparison to the shim itself (no CNI here).
  ctr -a "$sock" -n "$ns" run -d --net-host docker.io/k4t/busybox:bench "c$i" /bin/sleep 100000 >/dev/null
done
sleep 2
for c in $(ctr -a "$sock" -n "$ns" tasks ls -q); do
  pid=$(ctr -a "$sock" -n "$ns" tasks ls | awk -v c="$c" '$1 == c {print $2}')
  # The shim is the container process's parent.
  awk '{print $4}' "/proc/$pid/stat"
done
