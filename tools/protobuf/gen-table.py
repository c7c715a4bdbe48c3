#!/usr/bin/env python3
"""Generate crates/k4t-api/src/protobuf/table.rs, the schema the protobuf body decoder walks.

Three sources, each for what it knows best:
  * the k8s-pb crate (prost types generated from Kubernetes' generated.proto files): which
    messages exist, each field's tag, wire type, cardinality and message type;
  * the Go API types of kubernetes/api and kubernetes/apimachinery (struct tags such as
    `json:"replicas,omitempty" protobuf:"varint,1,opt,name=replicas"` on `Replicas *int32`):
    the JSON name of each tag and whether Go's JSON encoder would drop a zero value (a non-pointer
    field with omitempty). Protobuf cannot tell "unset" from "zero" for non-pointer Go fields, which
    are always on the wire, so this bit decides whether `""`/`0`/`false` reach the JSON;
  * the k8s-openapi crate (the canonical JSON model the server decodes into): a cross-check that
    every JSON name exists in the corresponding type's Deserialize impl.

Usage (from the workspace root; the Go trees are checkouts at tag kubernetes-1.36.0 of
kubernetes/api and kubernetes/apimachinery):

    python3 tools/protobuf/gen-table.py --kube-api DIR --apimachinery DIR \
        > crates/k4t-api/src/protobuf/table.rs && rustfmt --edition 2024 crates/k4t-api/src/protobuf/table.rs
"""

import argparse
import json
import os
import re
import subprocess
import sys

GO_TAG = "kubernetes-1.36.0"
OPENAPI_VERSION_MODULE = "v1_36"

# (apiVersion, kind, proto message). apiVersion None: any apiVersion (DeleteOptions is registered in
# every group-version).
ROOTS = [
    # crate::registry::RESOURCES
    ("v1", "ConfigMap", "k8s.io.api.core.v1.ConfigMap"),
    ("v1", "Endpoints", "k8s.io.api.core.v1.Endpoints"),
    ("v1", "Event", "k8s.io.api.core.v1.Event"),
    ("v1", "Namespace", "k8s.io.api.core.v1.Namespace"),
    ("v1", "Node", "k8s.io.api.core.v1.Node"),
    ("v1", "Pod", "k8s.io.api.core.v1.Pod"),
    ("v1", "Secret", "k8s.io.api.core.v1.Secret"),
    ("v1", "ServiceAccount", "k8s.io.api.core.v1.ServiceAccount"),
    ("v1", "Service", "k8s.io.api.core.v1.Service"),
    ("apps/v1", "Deployment", "k8s.io.api.apps.v1.Deployment"),
    ("apps/v1", "ReplicaSet", "k8s.io.api.apps.v1.ReplicaSet"),
    ("coordination.k8s.io/v1", "Lease", "k8s.io.api.coordination.v1.Lease"),
    ("discovery.k8s.io/v1", "EndpointSlice", "k8s.io.api.discovery.v1.EndpointSlice"),
    ("events.k8s.io/v1", "Event", "k8s.io.api.events.v1.Event"),
    # subresource bodies and options
    ("v1", "Binding", "k8s.io.api.core.v1.Binding"),
    ("autoscaling/v1", "Scale", "k8s.io.api.autoscaling.v1.Scale"),
    (None, "DeleteOptions", "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions"),
    # what else kubectl's typed clients POST (kubectl create ..., create token, drain, auth can-i)
    ("v1", "ResourceQuota", "k8s.io.api.core.v1.ResourceQuota"),
    ("batch/v1", "Job", "k8s.io.api.batch.v1.Job"),
    ("batch/v1", "CronJob", "k8s.io.api.batch.v1.CronJob"),
    ("policy/v1", "Eviction", "k8s.io.api.policy.v1.Eviction"),
    ("policy/v1", "PodDisruptionBudget", "k8s.io.api.policy.v1.PodDisruptionBudget"),
    ("rbac.authorization.k8s.io/v1", "Role", "k8s.io.api.rbac.v1.Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", "k8s.io.api.rbac.v1.RoleBinding"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", "k8s.io.api.rbac.v1.ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "k8s.io.api.rbac.v1.ClusterRoleBinding"),
    ("networking.k8s.io/v1", "Ingress", "k8s.io.api.networking.v1.Ingress"),
    ("scheduling.k8s.io/v1", "PriorityClass", "k8s.io.api.scheduling.v1.PriorityClass"),
    ("authentication.k8s.io/v1", "TokenRequest", "k8s.io.api.authentication.v1.TokenRequest"),
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview",
     "k8s.io.api.authorization.v1.SelfSubjectAccessReview"),
]

# Messages whose JSON form is not an object of their fields.
SPECIAL_SHAPES = {
    "k8s.io.apimachinery.pkg.api.resource.Quantity": "Quantity",
    "k8s.io.apimachinery.pkg.apis.meta.v1.Time": "Time",
    "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime": "MicroTime",
    "k8s.io.apimachinery.pkg.apis.meta.v1.Duration": "Duration",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": "IntOrString",
    "k8s.io.apimachinery.pkg.runtime.RawExtension": "RawJson",
    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1": "RawJson",
}

SCALARS = {"string": "String", "bool": "Bool", "int32": "Int32", "int64": "Int64", "double": "Double",
           "bytes": "Bytes"}


def die(msg):
    sys.exit("gen-table: " + msg)


def crate_dirs():
    meta = json.loads(subprocess.check_output(["cargo", "metadata", "--format-version", "1"]))
    dirs = {}
    for pkg in meta["packages"]:
        if pkg["name"] in ("k8s-pb", "k8s-openapi"):
            dirs[pkg["name"]] = (os.path.dirname(pkg["manifest_path"]), pkg["version"])
    for name in ("k8s-pb", "k8s-openapi"):
        if name not in dirs:
            die("cargo metadata does not list %s (it is a dev-dependency of k4t-api)" % name)
    return dirs


# ---------------------------------------------------------------- k8s-pb

# A field's type may span lines (long generics); it ends at the comma before the next field.
PROST_FIELD = re.compile(r"#\[prost\(([^\]]*)\)\]\s*pub (?:r#)?(\w+):\s*(.*?),\n(?=    [^\s>]|\}|$)", re.S)
STRUCT = re.compile(r"^pub struct (\w+) \{\n(.*?)^\}", re.S | re.M)


def resolve_rust_type(type_text, module):
    """The proto full name of the message a prost field type names."""
    t = re.sub(r"\s+", "", type_text).replace(",>", ">")
    inner = t
    while True:
        m = re.match(r"^(?:::core::option::Option|::prost::alloc::vec::Vec|::prost::alloc::boxed::Box|Box)<(.*)>$",
                     inner)
        if not m:
            break
        inner = m.group(1)
    m = re.match(r"^::prost::alloc::collections::BTreeMap<[^,]*,(.*?),?>$", inner)
    if m:
        inner = m.group(1)
    segs = inner.split("::")
    mod = list(module)
    while segs and segs[0] == "super":
        mod.pop()
        segs.pop(0)
    return ".".join(["k8s.io"] + mod + segs)


def parse_k8s_pb(root):
    messages = {}
    src = os.path.join(root, "src")
    for dirpath, _, files in os.walk(src):
        if "mod.rs" not in files:
            continue
        module = os.path.relpath(dirpath, src).split(os.sep)
        if module == ["."]:
            continue
        text = open(os.path.join(dirpath, "mod.rs")).read()
        for sm in STRUCT.finditer(text):
            name = ".".join(["k8s.io"] + module + [sm.group(1)])
            fields = []
            for fm in PROST_FIELD.finditer(sm.group(2)):
                attrs, rust_name, rust_type = fm.group(1), fm.group(2), fm.group(3)
                tag = int(re.search(r'tag = "(\d+)"', attrs).group(1))
                parts = [p.strip() for p in re.sub(r'tag = "\d+"', "", attrs).split(",") if p.strip()]
                field = {"tag": tag, "rust": rust_name}
                mm = re.match(r'btree_map = "(\w+)', attrs)
                if mm:
                    key, val = re.match(r'btree_map = "(\w+), (\w+)"', attrs).groups()
                    if key != "string":
                        die("%s.%s: map key %s" % (name, rust_name, key))
                    field["label"] = "Map"
                    field["type"] = resolve_rust_type(rust_type, module) if val == "message" else val
                else:
                    kind = parts[0].split(" ")[0]
                    field["label"] = "Repeated" if "repeated" in parts else "Single"
                    field["type"] = resolve_rust_type(rust_type, module) if kind == "message" else kind
                    if kind not in SCALARS and kind != "message":
                        die("%s.%s: unsupported prost kind %s" % (name, rust_name, kind))
                fields.append(field)
            messages[name] = fields
    return messages


# ---------------------------------------------------------------- Go API types

GO_STRUCT = re.compile(r"^type (\w+) struct \{\n(.*?)^\}", re.S | re.M)
GO_LIST = re.compile(r"^type (\w+) \[\]([\w.*]+)\s*$", re.M)
GO_FIELD = re.compile(r"^\s*(?:(\w+)\s+)?(\*?[\w.\[\]*]+)\s+`([^`]*)`", re.M)


def go_dir(package, kube_api, apimachinery):
    parts = package.split(".")[2:]  # drop k8s, io
    if parts[0] == "api":
        return os.path.join(kube_api, *parts[1:])
    if parts[0] == "apimachinery":
        return os.path.join(apimachinery, *parts[1:])
    return None


def parse_go_package(path):
    structs, lists = {}, {}
    for fname in sorted(os.listdir(path)):
        if not fname.endswith(".go") or fname.endswith("_test.go") or fname.startswith(("generated", "zz_")):
            continue
        text = open(os.path.join(path, fname)).read()
        for lm in GO_LIST.finditer(text):
            lists[lm.group(1).lower()] = lm.group(1)
        for sm in GO_STRUCT.finditer(text):
            fields = {}
            for line in sm.group(2).split("\n"):
                if line.strip().startswith("//"):
                    continue
                fm = GO_FIELD.match(line)
                if not fm:
                    continue
                go_type, tag = fm.group(2), fm.group(3)
                pm = re.search(r'protobuf:"\w+,(\d+),', tag)
                if not pm:
                    continue
                jm = re.search(r'json:"([^"]*)"', tag)
                json_opts = jm.group(1).split(",") if jm else [""]
                fields[int(pm.group(1))] = {
                    "json": json_opts[0],
                    "omitempty": "omitempty" in json_opts[1:],
                    "inline": "inline" in json_opts[1:],
                    "pointer": go_type.startswith("*"),
                    "go_type": go_type,
                }
            structs[sm.group(1).lower()] = (sm.group(1), fields)
    return structs, lists


# ---------------------------------------------------------------- k8s-openapi

def openapi_json_names(openapi_root, package, message):
    """JSON names of the k8s-openapi type for a proto message, or None if it has no such type."""
    parts = package.split(".")[2:]
    d = os.path.join(openapi_root, "src", OPENAPI_VERSION_MODULE, *parts)
    if not os.path.isdir(d):
        return None
    for fname in os.listdir(d):
        if not fname.endswith(".rs"):
            continue
        text = open(os.path.join(d, fname)).read()
        m = re.search(r"^pub struct (\w+)", text, re.M)
        if m and m.group(1).lower() == message.lower():
            return set(re.findall(r'"(\w+)" => Field::Key_', text))
    return None


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kube-api", required=True, help="kubernetes/api checkout at " + GO_TAG)
    ap.add_argument("--apimachinery", required=True, help="kubernetes/apimachinery checkout at " + GO_TAG)
    args = ap.parse_args()

    dirs = crate_dirs()
    pb = parse_k8s_pb(dirs["k8s-pb"][0])
    go_cache = {}

    def go_package(package):
        if package not in go_cache:
            d = go_dir(package, args.kube_api, args.apimachinery)
            go_cache[package] = parse_go_package(d) if d and os.path.isdir(d) else ({}, {})
        return go_cache[package]

    warnings = []

    def describe(name):
        """(display name, shape, rows) of one message; rows carry k8s-pb's (pb-cased) type names."""
        package, short = name.rsplit(".", 1)
        if name in SPECIAL_SHAPES:
            return name, SPECIAL_SHAPES[name], []
        structs, lists = go_package(package)
        if short.lower() in lists:
            fields = pb[name]
            if len(fields) != 1 or fields[0]["tag"] != 1 or fields[0]["label"] != "Repeated":
                die("%s: Go list type but proto fields %s" % (name, fields))
            return package + "." + lists[short.lower()], "List", [fields[0]]
        go_name, go_fields = structs.get(short.lower(), (None, None))
        if go_fields is None:
            die("no Go struct for %s" % name)
        display = package + "." + go_name
        rows = []
        for f in sorted(pb[name], key=lambda f: f["tag"]):
            g = go_fields.get(f["tag"])
            if g is None:
                warnings.append("%s: tag %d (%s) is not in the Go %s types; dropped" %
                                (display, f["tag"], f["rust"], GO_TAG))
                continue
            if g["json"] == "" and g["inline"] and f["type"] not in SCALARS and f["label"] == "Single":
                # an embedded struct: its fields sit in the parent's JSON object
                rows.append(dict(f, label="Inline", json="", omit_zero=False))
                continue
            if g["json"] in ("", "-"):
                warnings.append("%s: tag %d has no JSON name; dropped" % (display, f["tag"]))
                continue
            scalar = f["type"] in SCALARS
            # Go writes non-pointer fields unconditionally, so a zero on the wire means "unset"
            # exactly when Go's JSON encoder would drop it.
            omit_zero = scalar and f["label"] == "Single" and g["omitempty"] and not g["pointer"]
            rows.append(dict(f, json=g["json"], omit_zero=omit_zero))
        known = {f["tag"] for f in pb[name]}
        for tag, g in sorted(go_fields.items()):
            if tag not in known and g["json"] not in ("", "-"):
                warnings.append("%s: Go field %s (tag %d) is missing from k8s-pb %s; not decoded" %
                                (display, g["json"], tag, dirs["k8s-pb"][1]))
        names = openapi_json_names(dirs["k8s-openapi"][0], package, short)
        if names is None:
            warnings.append("%s: no k8s-openapi type to cross-check" % display)
        else:
            for r in rows:
                if r["label"] != "Inline" and r["json"] not in names:
                    warnings.append("%s: JSON name %s is not in k8s-openapi" % (display, r["json"]))
        return display, "Object", rows

    # reachable messages, breadth first from the roots, following only the fields that are kept
    described, queue = {}, [r[2] for r in ROOTS]
    while queue:
        name = queue.pop(0)
        if name in described:
            continue
        if name not in pb:
            die("k8s-pb has no message %s" % name)
        described[name] = describe(name)
        for f in described[name][2]:
            if f["type"] not in SCALARS:
                queue.append(f["type"])
    order = sorted(described, key=lambda n: described[n][0])
    index = {name: i for i, name in enumerate(order)}
    out = [described[name] for name in order]

    for w in warnings:
        print("warning: " + w, file=sys.stderr)

    def ty(t):
        if t in SCALARS:
            return "Ty::" + SCALARS[t]
        return "Ty::Message(%d)" % index[t]

    print("// @generated by tools/protobuf/gen-table.py: do not edit.")
    print("//")
    print("// Sources: k8s-pb %s (field tags and types), Go API types of kubernetes/api and" % dirs["k8s-pb"][1])
    print("// kubernetes/apimachinery at %s (JSON names, omitempty, pointers), cross-checked" % GO_TAG)
    print("// against k8s-openapi %s (%s)." % (dirs["k8s-openapi"][1], OPENAPI_VERSION_MODULE))
    print("// Regenerate from the workspace root:")
    print("//   python3 tools/protobuf/gen-table.py --kube-api DIR --apimachinery DIR \\")
    print("//     > crates/k4t-api/src/protobuf/table.rs && rustfmt --edition 2024 crates/k4t-api/src/protobuf/table.rs")
    print()
    print("use super::schema::{Card, Field, Message, Root, Shape, Ty, Zero};")
    print()
    print("/// The messages reachable from [`ROOTS`], sorted by full proto name.")
    print("pub(super) static MESSAGES: &[Message] = &[")
    for i, (name, shape, rows) in enumerate(out):
        if shape == "Object":
            print("    // %d" % i)
            print("    Message {")
            print('        name: "%s",' % name)
            print("        shape: Shape::Object(&[")
            for r in rows:
                card = "Card::" + r["label"]
                print('            Field::new(%d, "%s", %s, %s, %s),' %
                      (r["tag"], r["json"], ty(r["type"]), card, "Zero::Omit" if r["omit_zero"] else "Zero::Keep"))
            print("        ]),")
            print("    },")
        elif shape == "List":
            print("    // %d" % i)
            print('    Message { name: "%s", shape: Shape::List(%s) },' % (name, ty(rows[0]["type"])))
        else:
            print("    // %d" % i)
            print('    Message { name: "%s", shape: Shape::%s },' % (name, shape))
    print("];")
    print()
    print("/// The kinds a protobuf body may carry: (apiVersion, or None for any; kind; message).")
    print("pub(super) static ROOTS: &[Root] = &[")
    for api_version, kind, msg in sorted(ROOTS, key=lambda r: (r[0] or "", r[1])):
        av = "None" if api_version is None else 'Some("%s")' % api_version
        print('    Root { api_version: %s, kind: "%s", message: %d },' % (av, kind, index[msg]))
    print("];")


if __name__ == "__main__":
    main()
