//! Pod volumes and volume mounts (`ValidateVolumes`, `validateVolumeSource`, `ValidateVolumeMounts`
//! and the projection / downward API helpers).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    Container, DownwardAPIVolumeFile, KeyToPath, ObjectFieldSelector, ResourceFieldSelector,
    Volume, VolumeDevice, VolumeMount, VolumeProjection,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::names::{NameRule, invalid_each, validate_dns1123_label, validate_qualified_name};
use super::quantity::Quantity;
use crate::error::{FieldError, FieldPath};

const FILE_MODE_ERROR: &str = "must be a number between 0 and 0777 (octal), both inclusive";
const MORE_THAN_ONE: &str = "may not specify more than 1 volume type";

/// The volumes that passed validation, by name (what mounts may refer to).
pub(crate) type VolumeMap<'a> = BTreeMap<String, &'a Volume>;

/// `ValidateVolumes`: names, uniqueness and each source.
pub(crate) fn validate_volumes<'a>(
    volumes: &'a [Volume],
    pod_meta: Option<&ObjectMeta>,
    path: &FieldPath,
    resource_is_pod: bool,
) -> (VolumeMap<'a>, Vec<FieldError>) {
    let mut errs = Vec::new();
    let mut names: BTreeSet<&str> = BTreeSet::new();
    let mut map = VolumeMap::new();
    let pod_name = pod_meta.and_then(|m| m.name.as_deref()).unwrap_or("");
    let created_pvcs: BTreeSet<String> = if pod_name.is_empty() {
        BTreeSet::new()
    } else {
        volumes
            .iter()
            .filter(|v| v.ephemeral.is_some())
            .map(|v| format!("{pod_name}-{}", v.name))
            .collect()
    };
    for (i, vol) in volumes.iter().enumerate() {
        let idx = path.index(i);
        let name_path = idx.child("name");
        let mut el = validate_volume_source(vol, &idx, pod_name, resource_is_pod);
        if vol.name.is_empty() {
            el.push(FieldError::required(&name_path, ""));
        } else {
            el.extend(validate_dns1123_label(&vol.name, &name_path));
        }
        if names.contains(vol.name.as_str()) {
            el.push(FieldError::duplicate(&name_path, &vol.name));
        }
        if el.is_empty() {
            names.insert(&vol.name);
            map.insert(vol.name.clone(), vol);
        } else {
            errs.extend(el);
        }
        if let Some(pvc) = &vol.persistent_volume_claim
            && created_pvcs.contains(&pvc.claim_name)
        {
            errs.push(FieldError::invalid(
                idx.child("persistentVolumeClaim").child("claimName"),
                &pvc.claim_name,
                "must not reference a PVC that gets created for an ephemeral volume",
            ));
        }
    }
    (map, errs)
}

fn required_str(v: &str, path: FieldPath, errs: &mut Vec<FieldError>) {
    if v.is_empty() {
        errs.push(FieldError::required(path, ""));
    }
}

fn validate_mode(mode: Option<i32>, path: FieldPath, errs: &mut Vec<FieldError>) {
    if let Some(m) = mode
        && !(0..=0o777).contains(&m)
    {
        errs.push(FieldError::invalid(path, m, FILE_MODE_ERROR));
    }
}

/// `validateVolumeSource`: exactly one source, each checked; the order and paths are
/// Kubernetes' (including its `downwarAPI` and `cephFS` spellings in the conflict errors).
fn validate_volume_source(
    vol: &Volume,
    path: &FieldPath,
    pod_name: &str,
    resource_is_pod: bool,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut count = 0;
    // Counts one source; false (with an error) when another one was already seen.
    let mut take = |present: bool, conflict_name: &str, errs: &mut Vec<FieldError>| -> bool {
        if !present {
            return false;
        }
        if count > 0 {
            errs.push(FieldError::forbidden(
                path.child(conflict_name),
                MORE_THAN_ONE,
            ));
            false
        } else {
            count += 1;
            true
        }
    };

    if let Some(ed) = &vol.empty_dir
        && take(true, "emptyDir", &mut errs)
        && let Some(limit) = &ed.size_limit
        && Quantity::parse(&limit.0).is_ok_and(|q| q.is_negative())
    {
        errs.push(FieldError::forbidden(
            path.child("emptyDir").child("sizeLimit"),
            "SizeLimit field must be a valid resource quantity",
        ));
    }
    if let Some(hp) = &vol.host_path
        && take(true, "hostPath", &mut errs)
    {
        let p = path.child("hostPath");
        if hp.path.is_empty() {
            errs.push(FieldError::required(p.child("path"), ""));
        } else {
            errs.extend(validate_path_no_backsteps(&hp.path, &p.child("path")));
            if let Some(t) = &hp.type_ {
                let supported = [
                    "",
                    "BlockDevice",
                    "CharDevice",
                    "Directory",
                    "DirectoryOrCreate",
                    "File",
                    "FileOrCreate",
                    "Socket",
                ];
                if !supported.contains(&t.as_str()) {
                    errs.push(FieldError::not_supported(p.child("type"), t, &supported));
                }
            }
        }
    }
    if let Some(g) = &vol.git_repo
        && take(true, "gitRepo", &mut errs)
    {
        let p = path.child("gitRepo");
        required_str(&g.repository, p.child("repository"), &mut errs);
        errs.extend(validate_local_descending_path(
            g.directory.as_deref().unwrap_or(""),
            &p.child("directory"),
        ));
    }
    if let Some(pd) = &vol.gce_persistent_disk
        && take(true, "gcePersistentDisk", &mut errs)
    {
        let p = path.child("persistentDisk");
        required_str(&pd.pd_name, p.child("pdName"), &mut errs);
        partition(pd.partition, p.child("partition"), &mut errs);
    }
    if let Some(ebs) = &vol.aws_elastic_block_store
        && take(true, "awsElasticBlockStore", &mut errs)
    {
        let p = path.child("awsElasticBlockStore");
        required_str(&ebs.volume_id, p.child("volumeID"), &mut errs);
        partition(ebs.partition, p.child("partition"), &mut errs);
    }
    if let Some(s) = &vol.secret
        && take(true, "secret", &mut errs)
    {
        let p = path.child("secret");
        required_str(
            s.secret_name.as_deref().unwrap_or(""),
            p.child("secretName"),
            &mut errs,
        );
        validate_mode(s.default_mode, p.child("defaultMode"), &mut errs);
        for (i, kp) in s.items.iter().flatten().enumerate() {
            errs.extend(validate_key_to_path(kp, &p.child("items").index(i)));
        }
    }
    if let Some(nfs) = &vol.nfs
        && take(true, "nfs", &mut errs)
    {
        let p = path.child("nfs");
        required_str(&nfs.server, p.child("server"), &mut errs);
        required_str(&nfs.path, p.child("path"), &mut errs);
        if !nfs.path.starts_with('/') {
            errs.push(FieldError::invalid(
                p.child("path"),
                &nfs.path,
                "must be an absolute path",
            ));
        }
    }
    if let Some(iscsi) = &vol.iscsi
        && take(true, "iscsi", &mut errs)
    {
        let p = path.child("iscsi");
        required_str(&iscsi.target_portal, p.child("targetPortal"), &mut errs);
        required_str(&iscsi.iqn, p.child("iqn"), &mut errs);
        if !(0..=255).contains(&iscsi.lun) {
            errs.push(FieldError::invalid(
                p.child("lun"),
                iscsi.lun,
                "must be between 0 and 255, inclusive",
            ));
        }
    }
    if let Some(g) = &vol.glusterfs
        && take(true, "glusterfs", &mut errs)
    {
        let p = path.child("glusterfs");
        required_str(&g.endpoints, p.child("endpoints"), &mut errs);
        required_str(&g.path, p.child("path"), &mut errs);
    }
    if let Some(f) = &vol.flocker
        && take(true, "flocker", &mut errs)
    {
        let p = path.child("flocker");
        let (name, uuid) = (
            f.dataset_name.as_deref().unwrap_or(""),
            f.dataset_uuid.as_deref().unwrap_or(""),
        );
        if name.is_empty() && uuid.is_empty() {
            errs.push(FieldError::required(
                &p,
                "one of datasetName and datasetUUID is required",
            ));
        }
        if !name.is_empty() && !uuid.is_empty() {
            errs.push(FieldError::invalid(
                &p,
                "resource",
                "datasetName and datasetUUID can not be specified simultaneously",
            ));
        }
        if name.contains('/') {
            errs.push(FieldError::invalid(
                p.child("datasetName"),
                name,
                "must not contain '/'",
            ));
        }
    }
    if let Some(pvc) = &vol.persistent_volume_claim
        && take(true, "persistentVolumeClaim", &mut errs)
    {
        required_str(
            &pvc.claim_name,
            path.child("persistentVolumeClaim").child("claimName"),
            &mut errs,
        );
    }
    if let Some(rbd) = &vol.rbd
        && take(true, "rbd", &mut errs)
    {
        let p = path.child("rbd");
        if rbd.monitors.is_empty() {
            errs.push(FieldError::required(p.child("monitors"), ""));
        }
        required_str(&rbd.image, p.child("image"), &mut errs);
    }
    if let Some(c) = &vol.cinder
        && take(true, "cinder", &mut errs)
    {
        let p = path.child("cinder");
        required_str(&c.volume_id, p.child("volumeID"), &mut errs);
        if let Some(sr) = &c.secret_ref {
            required_str(&sr.name, p.child("secretRef").child("name"), &mut errs);
        }
    }
    if let Some(c) = &vol.cephfs
        && take(true, "cephFS", &mut errs)
        && c.monitors.is_empty()
    {
        errs.push(FieldError::required(
            path.child("cephfs").child("monitors"),
            "",
        ));
    }
    if let Some(q) = &vol.quobyte
        && take(true, "quobyte", &mut errs)
    {
        let p = path.child("quobyte");
        if q.registry.is_empty() {
            errs.push(FieldError::required(
                p.child("registry"),
                "must be a host:port pair or multiple pairs separated by commas",
            ));
        }
        required_str(&q.volume, p.child("volume"), &mut errs);
    }
    if let Some(d) = &vol.downward_api
        && take(true, "downwarAPI", &mut errs)
    {
        let p = path.child("downwardAPI");
        validate_mode(d.default_mode, p.child("defaultMode"), &mut errs);
        for file in d.items.iter().flatten() {
            errs.extend(validate_downward_api_volume_file(file, &p));
        }
    }
    if let Some(fc) = &vol.fc
        && take(true, "fc", &mut errs)
    {
        let p = path.child("fc");
        let wwns = fc.target_wwns.as_deref().unwrap_or(&[]);
        let wwids = fc.wwids.as_deref().unwrap_or(&[]);
        if wwns.is_empty() && wwids.is_empty() {
            errs.push(FieldError::required(
                p.child("targetWWNs"),
                "must specify either targetWWNs or wwids, but not both",
            ));
        }
        if !wwns.is_empty() && fc.lun.is_none() {
            errs.push(FieldError::required(
                p.child("lun"),
                "lun is required if targetWWNs is specified",
            ));
        }
    }
    if let Some(fv) = &vol.flex_volume
        && take(true, "flexVolume", &mut errs)
    {
        required_str(
            &fv.driver,
            path.child("flexVolume").child("driver"),
            &mut errs,
        );
    }
    if let Some(cm) = &vol.config_map
        && take(true, "configMap", &mut errs)
    {
        let p = path.child("configMap");
        required_str(&cm.name, p.child("name"), &mut errs);
        validate_mode(cm.default_mode, p.child("defaultMode"), &mut errs);
        for (i, kp) in cm.items.iter().flatten().enumerate() {
            errs.extend(validate_key_to_path(kp, &p.child("items").index(i)));
        }
    }
    if let Some(af) = &vol.azure_file
        && take(true, "azureFile", &mut errs)
    {
        let p = path.child("azureFile");
        required_str(&af.secret_name, p.child("secretName"), &mut errs);
        required_str(&af.share_name, p.child("shareName"), &mut errs);
    }
    if let Some(vs) = &vol.vsphere_volume
        && take(true, "vsphereVolume", &mut errs)
    {
        required_str(
            &vs.volume_path,
            path.child("vsphereVolume").child("volumePath"),
            &mut errs,
        );
    }
    if let Some(ph) = &vol.photon_persistent_disk
        && take(true, "photonPersistentDisk", &mut errs)
    {
        required_str(
            &ph.pd_id,
            path.child("photonPersistentDisk").child("pdID"),
            &mut errs,
        );
    }
    if let Some(px) = &vol.portworx_volume
        && take(true, "portworxVolume", &mut errs)
    {
        required_str(
            &px.volume_id,
            path.child("portworxVolume").child("volumeID"),
            &mut errs,
        );
    }
    if let Some(ad) = &vol.azure_disk
        && take(true, "azureDisk", &mut errs)
    {
        let p = path.child("azureDisk");
        required_str(&ad.disk_name, p.child("diskName"), &mut errs);
        required_str(&ad.disk_uri, p.child("diskURI"), &mut errs);
    }
    if let Some(so) = &vol.storageos
        && take(true, "storageos", &mut errs)
    {
        let p = path.child("storageos");
        let name = so.volume_name.as_deref().unwrap_or("");
        if name.is_empty() {
            errs.push(FieldError::required(p.child("volumeName"), ""));
        } else {
            errs.extend(validate_dns1123_label(name, &p.child("volumeName")));
        }
    }
    if let Some(pr) = &vol.projected
        && take(true, "projected", &mut errs)
    {
        let p = path.child("projected");
        validate_mode(pr.default_mode, p.child("defaultMode"), &mut errs);
        errs.extend(validate_projection_sources(
            pr.sources.as_deref().unwrap_or(&[]),
            &p,
        ));
    }
    if let Some(sio) = &vol.scale_io
        && take(true, "scaleIO", &mut errs)
    {
        let p = path.child("scaleIO");
        required_str(&sio.gateway, p.child("gateway"), &mut errs);
        required_str(&sio.system, p.child("system"), &mut errs);
        required_str(
            sio.volume_name.as_deref().unwrap_or(""),
            p.child("volumeName"),
            &mut errs,
        );
    }
    if let Some(csi) = &vol.csi
        && take(true, "csi", &mut errs)
    {
        errs.extend(validate_csi_driver_name(
            &csi.driver,
            &path.child("csi").child("driver"),
        ));
        if let Some(sr) = &csi.node_publish_secret_ref {
            let name = sr.name.as_str();
            if name.is_empty() {
                errs.push(FieldError::required(
                    path.child("csi")
                        .child("nodePublishSecretRef")
                        .child("name"),
                    "",
                ));
            } else {
                errs.extend(invalid_each(
                    &path.child("csi").child("name"),
                    name,
                    NameRule::DnsSubdomain.check(name, false),
                ));
            }
        }
    }
    if let Some(eph) = &vol.ephemeral
        && take(true, "ephemeral", &mut errs)
    {
        if eph.volume_claim_template.is_none() {
            errs.push(FieldError::required(
                path.child("ephemeral").child("volumeClaimTemplate"),
                "",
            ));
        }
        if !pod_name.is_empty() && !vol.name.is_empty() {
            let pvc = format!("{pod_name}-{}", vol.name);
            for m in NameRule::DnsSubdomain.check(&pvc, false) {
                errs.push(FieldError::invalid(
                    path.child("name"),
                    &vol.name,
                    format!("PVC name {}: {m}", crate::error::go_quote(&pvc)),
                ));
            }
        }
    }
    if let Some(img) = &vol.image
        && take(true, "image", &mut errs)
    {
        let p = path.child("image");
        if resource_is_pod && img.reference.as_deref().unwrap_or("").is_empty() {
            errs.push(FieldError::required(p.child("reference"), ""));
        }
        errs.extend(validate_pull_policy(
            img.pull_policy.as_deref().unwrap_or(""),
            &p.child("pullPolicy"),
        ));
    }
    if count == 0 {
        errs.push(FieldError::required(path, "must specify a volume type"));
    }
    errs
}

fn partition(p: Option<i32>, path: FieldPath, errs: &mut Vec<FieldError>) {
    let p = p.unwrap_or(0);
    if !(0..=255).contains(&p) {
        errs.push(FieldError::invalid(
            path,
            p,
            "must be between 1 and 255, inclusive",
        ));
    }
}

fn validate_csi_driver_name(driver: &str, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if driver.is_empty() {
        errs.push(FieldError::required(path, ""));
    }
    if driver.len() > 63 {
        errs.push(FieldError::too_long(path, 63));
    }
    errs.extend(invalid_each(
        path,
        driver,
        super::names::is_dns1123_subdomain(&driver.to_lowercase()),
    ));
    errs
}

/// `validatePullPolicy`.
pub(crate) fn validate_pull_policy(policy: &str, path: &FieldPath) -> Vec<FieldError> {
    match policy {
        "Always" | "IfNotPresent" | "Never" => Vec::new(),
        "" => vec![FieldError::required(path, "")],
        other => vec![FieldError::not_supported(
            path,
            other,
            &["Always", "IfNotPresent", "Never"],
        )],
    }
}

fn validate_key_to_path(kp: &KeyToPath, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    required_str(&kp.key, path.child("key"), &mut errs);
    required_str(&kp.path, path.child("path"), &mut errs);
    errs.extend(validate_local_non_reserved_path(
        &kp.path,
        &path.child("path"),
    ));
    validate_mode(kp.mode, path.child("mode"), &mut errs);
    errs
}

/// `validatePathNoBacksteps`.
pub(crate) fn validate_path_no_backsteps(target: &str, path: &FieldPath) -> Vec<FieldError> {
    if target.replace('\\', "/").split('/').any(|p| p == "..") {
        vec![FieldError::invalid(path, target, "must not contain '..'")]
    } else {
        Vec::new()
    }
}

/// `validateLocalDescendingPath`: relative and without backsteps.
pub(crate) fn validate_local_descending_path(target: &str, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if target.starts_with('/') {
        errs.push(FieldError::invalid(path, target, "must be a relative path"));
    }
    errs.extend(validate_path_no_backsteps(target, path));
    errs
}

/// `ValidateLocalNonReservedPath`.
fn validate_local_non_reserved_path(target: &str, path: &FieldPath) -> Vec<FieldError> {
    let mut errs = validate_local_descending_path(target, path);
    if target.starts_with("..") && !target.starts_with("../") {
        errs.push(FieldError::invalid(
            path,
            target,
            "must not start with '..'",
        ));
    }
    errs
}

const VOLUME_FIELD_PATHS: [&str; 5] = [
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
];

/// The container resources the downward API exposes.
pub(crate) const RESOURCE_FIELD_PATHS: [&str; 6] = [
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

fn validate_downward_api_volume_file(
    file: &DownwardAPIVolumeFile,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    required_str(&file.path, path.child("path"), &mut errs);
    errs.extend(validate_local_non_reserved_path(
        &file.path,
        &path.child("path"),
    ));
    if let Some(fr) = &file.field_ref {
        errs.extend(validate_object_field_selector(
            fr,
            &VOLUME_FIELD_PATHS,
            &path.child("fieldRef"),
        ));
        if file.resource_field_ref.is_some() {
            errs.push(FieldError::invalid(
                path,
                "resource",
                "fieldRef and resourceFieldRef can not be specified simultaneously",
            ));
        }
    } else if let Some(rf) = &file.resource_field_ref {
        errs.extend(validate_resource_field_selector(
            rf,
            &path.child("resourceFieldRef"),
            true,
        ));
    } else {
        errs.push(FieldError::required(
            path,
            "one of fieldRef and resourceFieldRef is required",
        ));
    }
    validate_mode(file.mode, path.child("mode"), &mut errs);
    errs
}

fn validate_projection_sources(sources: &[VolumeProjection], path: &FieldPath) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut all_paths: BTreeSet<String> = BTreeSet::new();
    for (i, src) in sources.iter().enumerate() {
        let mut n = 0;
        let sp = path.child("sources").index(i);
        if let Some(s) = &src.secret {
            n += 1;
            let pp = sp.child("secret");
            required_str(&s.name, pp.child("name"), &mut errs);
            for (j, kp) in s.items.iter().flatten().enumerate() {
                errs.extend(validate_key_to_path(kp, &pp.child("items").index(j)));
                if !kp.path.is_empty() && !all_paths.insert(kp.path.clone()) {
                    errs.push(FieldError::invalid(
                        path,
                        &s.name,
                        "conflicting duplicate paths",
                    ));
                }
            }
        }
        if let Some(c) = &src.config_map {
            n += 1;
            let pp = sp.child("configMap");
            required_str(&c.name, pp.child("name"), &mut errs);
            for (j, kp) in c.items.iter().flatten().enumerate() {
                errs.extend(validate_key_to_path(kp, &pp.child("items").index(j)));
                if !kp.path.is_empty() && !all_paths.insert(kp.path.clone()) {
                    errs.push(FieldError::invalid(
                        path,
                        &c.name,
                        "conflicting duplicate paths",
                    ));
                }
            }
        }
        if let Some(d) = &src.downward_api {
            n += 1;
            let pp = sp.child("downwardAPI");
            for file in d.items.iter().flatten() {
                errs.extend(validate_downward_api_volume_file(file, &pp));
                if !file.path.is_empty() && !all_paths.insert(file.path.clone()) {
                    errs.push(FieldError::invalid(
                        path,
                        &file.path,
                        "conflicting duplicate paths",
                    ));
                }
            }
        }
        if let Some(t) = &src.service_account_token {
            n += 1;
            let pp = sp.child("serviceAccountToken");
            let exp = t.expiration_seconds.unwrap_or(0);
            if exp < 600 {
                errs.push(FieldError::invalid(
                    pp.child("expirationSeconds"),
                    exp,
                    "may not specify a duration less than 10 minutes",
                ));
            }
            if exp > 1 << 32 {
                errs.push(FieldError::invalid(
                    pp.child("expirationSeconds"),
                    exp,
                    "may not specify a duration larger than 2^32 seconds",
                ));
            }
            if t.path.is_empty() {
                errs.push(FieldError::required(path.child("path"), ""));
            } else {
                errs.extend(validate_local_non_reserved_path(
                    &t.path,
                    &path.child("path"),
                ));
            }
        }
        if let Some(ctb) = &src.cluster_trust_bundle {
            n += 1;
            let pp = sp.child("clusterTrustBundle");
            match (&ctb.name, &ctb.signer_name) {
                (Some(_), Some(_)) => errs.push(FieldError::invalid(
                    &pp,
                    crate::error::BadValue::Raw(super::typed::json(ctb)),
                    "only one of name and signerName may be used",
                )),
                (Some(name), None) if name.is_empty() => errs.push(FieldError::required(
                    pp.child("name"),
                    "must be a valid object name",
                )),
                (None, Some(signer)) if signer.is_empty() => errs.push(FieldError::required(
                    pp.child("signerName"),
                    "must be a valid signer name",
                )),
                (None, None) => errs.push(FieldError::required(
                    &pp,
                    "either name or signerName must be specified",
                )),
                _ => {}
            }
            required_str(&ctb.path, pp.child("path"), &mut errs);
            errs.extend(validate_local_non_reserved_path(
                &ctb.path,
                &pp.child("path"),
            ));
            if !all_paths.insert(ctb.path.clone()) {
                errs.push(FieldError::invalid(
                    path,
                    &ctb.path,
                    "conflicting duplicate paths",
                ));
            }
        }
        if src.pod_certificate.is_some() {
            n += 1;
        }
        if n > 1 {
            errs.push(FieldError::forbidden(
                &sp,
                "may not specify more than 1 volume type per source",
            ));
        }
    }
    errs
}

/// Splits `metadata.labels['key']` into (`metadata.labels`, `key`).
fn split_subscripted(field_path: &str) -> Option<(&str, &str)> {
    let s = field_path.strip_suffix("']")?;
    let (path, sub) = s.split_once("['")?;
    (!path.is_empty()).then_some((path, sub))
}

/// `validateObjectFieldSelector` against the allowed field paths.
pub(crate) fn validate_object_field_selector(
    fs: &ObjectFieldSelector,
    allowed: &[&str],
    path: &FieldPath,
) -> Vec<FieldError> {
    let api_version = fs.api_version.as_deref().unwrap_or("");
    if api_version.is_empty() {
        return vec![FieldError::required(path.child("apiVersion"), "")];
    }
    if fs.field_path.is_empty() {
        return vec![FieldError::required(path.child("fieldPath"), "")];
    }
    let internal = match convert_downward_api_field_label(api_version, &fs.field_path) {
        Ok(p) => p,
        Err(e) => {
            return vec![FieldError::invalid(
                path.child("fieldPath"),
                &fs.field_path,
                format!("error converting fieldPath: {e}"),
            )];
        }
    };
    if let Some((p, sub)) = split_subscripted(&internal) {
        match p {
            "metadata.annotations" => validate_qualified_name(&sub.to_lowercase(), path),
            "metadata.labels" => validate_qualified_name(sub, path),
            other => vec![FieldError::invalid(
                path,
                other,
                "does not support subscript",
            )],
        }
    } else if !allowed.contains(&internal.as_str()) {
        let mut sorted = allowed.to_vec();
        sorted.sort_unstable();
        vec![FieldError::not_supported(
            path.child("fieldPath"),
            &internal,
            &sorted,
        )]
    } else {
        Vec::new()
    }
}

fn convert_downward_api_field_label(version: &str, label: &str) -> Result<String, String> {
    if version != "v1" {
        return Err(format!("unsupported pod version: {version}"));
    }
    if let Some((p, _)) = split_subscripted(label) {
        return match p {
            "metadata.annotations" | "metadata.labels" => Ok(label.to_owned()),
            _ => Err(format!("field label does not support subscript: {label}")),
        };
    }
    match label {
        "metadata.annotations"
        | "metadata.labels"
        | "metadata.name"
        | "metadata.namespace"
        | "metadata.uid"
        | "spec.nodeName"
        | "spec.restartPolicy"
        | "spec.serviceAccountName"
        | "spec.schedulerName"
        | "status.phase"
        | "status.hostIP"
        | "status.hostIPs"
        | "status.podIP"
        | "status.podIPs" => Ok(label.to_owned()),
        "spec.host" => Ok("spec.nodeName".to_owned()),
        _ => Err(format!("field label not supported: {label}")),
    }
}

/// `validateContainerResourceFieldSelector`.
pub(crate) fn validate_resource_field_selector(
    fs: &ResourceFieldSelector,
    path: &FieldPath,
    volume: bool,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let container = fs.container_name.as_deref().unwrap_or("");
    if volume && container.is_empty() {
        errs.push(FieldError::required(path.child("containerName"), ""));
    } else if fs.resource.is_empty() {
        errs.push(FieldError::required(path.child("resource"), ""));
    } else if !RESOURCE_FIELD_PATHS.contains(&fs.resource.as_str())
        && !fs.resource.starts_with("limits.hugepages-")
        && !fs.resource.starts_with("requests.hugepages-")
    {
        errs.push(FieldError::not_supported(
            path.child("resource"),
            &fs.resource,
            &RESOURCE_FIELD_PATHS,
        ));
    }
    if let Some(div) = &fs.divisor
        && let Ok(q) = Quantity::parse(&div.0)
        && !q.is_zero()
    {
        let d = q.to_string();
        let mem_like = [
            "1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei",
        ];
        let r = fs.resource.as_str();
        let msg = match r {
            "limits.cpu" | "requests.cpu" if !["1m", "1"].contains(&d.as_str()) => {
                Some("only divisor's values 1m and 1 are supported with the cpu resource")
            }
            "limits.memory" | "requests.memory" if !mem_like.contains(&d.as_str()) => Some(
                "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the memory resource",
            ),
            "limits.ephemeral-storage" | "requests.ephemeral-storage"
                if !mem_like.contains(&d.as_str()) =>
            {
                Some(
                    "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the local ephemeral storage resource",
                )
            }
            _ => None,
        };
        if let Some(m) = msg {
            errs.push(FieldError::invalid(path.child("divisor"), r, m));
        }
        if (r.starts_with("requests.hugepages-") || r.starts_with("limits.hugepages-"))
            && !mem_like.contains(&d.as_str())
        {
            errs.push(FieldError::invalid(
                path.child("divisor"),
                r,
                "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the hugepages resource",
            ));
        }
    }
    errs
}

fn validate_mount_propagation(
    mode: &str,
    container: Option<&Container>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let supported = ["Bidirectional", "HostToContainer", "None"];
    if !supported.contains(&mode) {
        errs.push(FieldError::not_supported(path, mode, &supported));
    }
    let Some(c) = container else {
        return errs;
    };
    let privileged = c
        .security_context
        .as_ref()
        .and_then(|s| s.privileged)
        .unwrap_or(false);
    if mode == "Bidirectional" && !privileged {
        errs.push(FieldError::forbidden(
            path,
            "Bidirectional mount propagation is available only to privileged containers",
        ));
    }
    errs
}

fn validate_recursive_read_only(m: &VolumeMount, path: &FieldPath) -> Vec<FieldError> {
    let Some(rro) = &m.recursive_read_only else {
        return Vec::new();
    };
    let mut errs = Vec::new();
    match rro.as_str() {
        "Disabled" => {}
        "Enabled" | "IfPossible" => {
            if !m.read_only.unwrap_or(false) {
                errs.push(FieldError::forbidden(
                    path,
                    "may only be specified when readOnly is true",
                ));
            }
            if m.mount_propagation.as_deref().is_some_and(|p| p != "None") {
                errs.push(FieldError::forbidden(
                    path,
                    "may only be specified when mountPropagation is None or not specified",
                ));
            }
        }
        other => errs.push(FieldError::not_supported(
            path,
            other,
            &["Disabled", "Enabled", "IfPossible"],
        )),
    }
    errs
}

/// `ValidateVolumeMounts`: each mount names a known volume, mount paths are unique.
pub(crate) fn validate_volume_mounts(
    mounts: &[VolumeMount],
    devices: &[VolumeDevice],
    volumes: &VolumeMap<'_>,
    container: Option<&Container>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut mount_points: BTreeSet<&str> = BTreeSet::new();
    for (i, m) in mounts.iter().enumerate() {
        let idx = path.index(i);
        if m.name.is_empty() {
            errs.push(FieldError::required(idx.child("name"), ""));
        }
        if !volumes.contains_key(&m.name) {
            errs.push(FieldError::not_found(idx.child("name"), &m.name));
        }
        if m.mount_path.is_empty() {
            errs.push(FieldError::required(idx.child("mountPath"), ""));
        }
        if !mount_points.insert(&m.mount_path) {
            errs.push(FieldError::invalid(
                idx.child("mountPath"),
                &m.mount_path,
                "must be unique",
            ));
        }
        if devices.iter().any(|d| d.name == m.name) {
            errs.push(FieldError::invalid(
                idx.child("name"),
                &m.name,
                "must not already exist in volumeDevices",
            ));
        }
        if devices.iter().any(|d| d.device_path == m.mount_path) {
            errs.push(FieldError::invalid(
                idx.child("mountPath"),
                &m.mount_path,
                "must not already exist as a path in volumeDevices",
            ));
        }
        let sub_path = m.sub_path.as_deref().unwrap_or("");
        let sub_path_expr = m.sub_path_expr.as_deref().unwrap_or("");
        if volumes.get(&m.name).is_some_and(|v| v.image.is_some()) {
            if !sub_path.is_empty() {
                errs.push(FieldError::invalid(
                    idx.child("subPath"),
                    sub_path,
                    "not allowed in image volume sources",
                ));
            }
            if !sub_path_expr.is_empty() {
                errs.push(FieldError::invalid(
                    idx.child("subPathExpr"),
                    sub_path_expr,
                    "not allowed in image volume sources",
                ));
            }
        }
        if !sub_path.is_empty() {
            errs.extend(validate_local_descending_path(
                sub_path,
                &path.child("subPath"),
            ));
        }
        if !sub_path_expr.is_empty() {
            if !sub_path.is_empty() {
                errs.push(FieldError::invalid(
                    idx.child("subPathExpr"),
                    sub_path_expr,
                    "subPathExpr and subPath are mutually exclusive",
                ));
            }
            errs.extend(validate_local_descending_path(
                sub_path_expr,
                &path.child("subPathExpr"),
            ));
        }
        if let Some(mp) = &m.mount_propagation {
            errs.extend(validate_mount_propagation(
                mp,
                container,
                &path.child("mountPropagation"),
            ));
        }
        errs.extend(validate_recursive_read_only(
            m,
            &path.child("recursiveReadOnly"),
        ));
    }
    errs
}

/// `ValidateVolumeDevices`: block devices must come from PVC-backed volumes.
pub(crate) fn validate_volume_devices(
    devices: &[VolumeDevice],
    mounts: &[VolumeMount],
    volumes: &VolumeMap<'_>,
    path: &FieldPath,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut paths: BTreeSet<&str> = BTreeSet::new();
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for (i, d) in devices.iter().enumerate() {
        let idx = path.index(i);
        let matched = volumes.get(&d.name);
        let is_pvc =
            matched.is_some_and(|v| v.persistent_volume_claim.is_some() || v.ephemeral.is_some());
        if d.name.is_empty() {
            errs.push(FieldError::required(idx.child("name"), ""));
        }
        if names.contains(d.name.as_str()) {
            errs.push(FieldError::invalid(
                idx.child("name"),
                &d.name,
                "must be unique",
            ));
        }
        if matched.is_some() && !is_pvc {
            errs.push(FieldError::invalid(
                idx.child("name"),
                &d.name,
                "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode",
            ));
        }
        if matched.is_none() {
            errs.push(FieldError::not_found(idx.child("name"), &d.name));
        }
        if d.device_path.is_empty() {
            errs.push(FieldError::required(idx.child("devicePath"), ""));
        }
        if paths.contains(d.device_path.as_str()) {
            errs.push(FieldError::invalid(
                idx.child("devicePath"),
                &d.device_path,
                "must be unique",
            ));
        }
        if !d.device_path.is_empty()
            && !validate_path_no_backsteps(&d.device_path, &path.child("devicePath")).is_empty()
        {
            errs.push(FieldError::invalid(
                idx.child("devicePath"),
                &d.device_path,
                "can not contain backsteps ('..')",
            ));
        } else {
            paths.insert(&d.device_path);
        }
        if mounts.iter().any(|m| m.name == d.name) {
            errs.push(FieldError::invalid(
                idx.child("name"),
                &d.name,
                "must not already exist in volumeMounts",
            ));
        }
        if mounts.iter().any(|m| m.mount_path == d.device_path) {
            errs.push(FieldError::invalid(
                idx.child("devicePath"),
                &d.device_path,
                "must not already exist as a path in volumeMounts",
            ));
        }
        if !d.name.is_empty() {
            names.insert(&d.name);
        }
    }
    errs
}
